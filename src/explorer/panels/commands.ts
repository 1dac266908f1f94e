import { fill, h } from "../dom.js";
import type { CommandDescription } from "../../gen/switchyard/command/v1/command_pb.js";
import { whenAnswered, type Panel } from "./panel.js";

/** Every registered command with its policy, rejections, edges and payload schema, from DescribeCommands. */
export const commandsPanel: Panel = {
  id: "commands",
  title: "Commands",
  mount(body, api, signal) {
    whenAnswered(body, "DescribeCommands", api.commands.describeCommands({}, { signal }), (response) => fill(body, ...response.commands.map(commandView)), signal);
  },
};

function commandView(command: CommandDescription): HTMLElement {
  const list = (values: string[]) => (values.length > 0 ? values.join(", ") : "none");
  return h(
    "details",
    { class: "command", "data-command-type": command.commandType },
    h("summary", {}, h("code", {}, command.commandType), h("span", { class: "muted" }, ` on ${command.aggregate}, stream ${command.streamExpectation}`)),
    h(
      "dl",
      {},
      h("dt", {}, "allowed with"),
      h("dd", {}, list(command.requiredScopes)),
      h("dt", {}, "rejection codes"),
      h("dd", {}, list(command.rejectionCodes)),
      h("dt", {}, "reached through"),
      h("dd", {}, ...command.edgeMethods.map((method) => h("code", { class: "block" }, method))),
      h("dt", {}, "payload schema"),
      h("dd", {}, h("pre", {}, JSON.stringify(command.payloadSchema ?? {}, null, 2))),
    ),
  );
}
