// What a thread hand-off and a wake-up cost in CPU on this machine, back to back and after
// the thread has slept: the floor under every per-call figure at one call in flight.
// Run: npm run bench:wake-cost
import { Worker } from "node:worker_threads";

const echo = new Worker(`require("node:worker_threads").parentPort.on("message", function (m) { this.postMessage(m); });`, { eval: true });
const roundTrip = () => new Promise<void>((resolve) => {
  echo.once("message", () => resolve());
  echo.postMessage(0);
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU µs of this process per repetition of `step`. */
async function cpuPer(times: number, step: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < times; i++) await step();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / times;
}

const hot = await cpuPer(20_000, roundTrip);
const timer = await cpuPer(1_000, () => sleep(1));
const afterIdle = await cpuPer(1_000, async () => {
  await sleep(1);
  await roundTrip();
});
await echo.terminate();
console.log(`worker round trip, back to back: ${hot.toFixed(1)} µs of CPU`);
console.log(`a 1 ms timer's wake-up: ${timer.toFixed(1)} µs of CPU`);
console.log(`worker round trip after 1 ms asleep: ${(afterIdle - timer).toFixed(1)} µs of CPU (beyond the timer's)`);
