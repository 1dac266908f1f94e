// A node:test reporter that gathers the rows tests emit with t.diagnostic(reliabilityRow(...))
// and prints the reliability summary table once every test has finished. With
// RELIABILITY_REPORT=<file> it also writes the table there (docs/reliability.md).
import { writeFileSync } from "node:fs";

const PREFIX = "reliability-row ";

export default async function* reliabilityReporter(source) {
  const rows = [];
  for await (const event of source) {
    if (event.type === "test:diagnostic" && event.data.message.startsWith(PREFIX)) {
      rows.push(JSON.parse(event.data.message.slice(PREFIX.length)));
    }
  }
  if (rows.length === 0) return;
  rows.sort((a, b) => a.scenario.localeCompare(b.scenario));
  const lines = [
    "| scenario | calls tried | failures | data lost | note |",
    "| --- | ---: | ---: | ---: | --- |",
    ...rows.map((r) => `| ${r.scenario} | ${r.callsTried} | ${r.failures} | ${r.dataLost} | ${r.note ?? ""} |`),
  ];
  const table = lines.join("\n");
  yield `\nReliability summary\n${table}\n`;
  const target = process.env.RELIABILITY_REPORT;
  if (target) {
    writeFileSync(
      target,
      `# Reliability\n\nLatest figures from \`npm test\` (test/reliability and the e2e suites), written by\n\`RELIABILITY_REPORT=docs/reliability.md npm test\`. Each row is a scenario run against a real server on real ports (its own process, or this one where\na test must reach inside to inject the fault);\n"failures" counts answers the scenario does not allow, "data lost" counts acknowledged commands missing or duplicated afterwards.\n\n${table}\n`,
    );
  }
}
