/** The kernel: what a domain author writes against. Pure, no I/O. */
export { defineAggregate, fold, streamIdOf, type Aggregate } from "./aggregate.js";
export { copyWith } from "./copy-with.js";
export { fixedClock, sequentialIds, systemCollaborators, type Collaborators } from "./collaborators.js";
export { defineCommand, methodName, type AnyCommand, type CommandDefinition, type CommandInput, type DecideContext, type MethodName, type RelatedStates, type RelatedStream, type RelatedStreams, type StreamExpectation } from "./command.js";
export { accept, reject, settle, type AcceptOptions, type Acceptance, type Decision, type Rejection } from "./decision.js";
export { event, type DomainEvent, type EventMetadata, type RecordedEvent } from "./events.js";
export { DEFAULT_TENANT, hasScope, TRUSTED_LOCAL, type Identity } from "./identity.js";
export { authorize, OPEN, type Authorization, type Policy, type StateRule } from "./policy.js";
export { defineReaction, reactionContext, reactionEventOf, type AnyReaction, type CallContext, type CollaboratorCall, type CommandToIssue, type Reaction, type ReactionContext, type ReactionEffect, type ReactionEvent, type ReadModelLookup } from "./reaction.js";
export { REPLAYABLE, resultOf, type CommandResult, type CommandStatus, type InvalidReason, type Outcome, type ResultBase, type ResultOf, type Violation, type WrittenEvent } from "./result.js";
export { parsePayload, violationsOf } from "./validation.js";
export { runAtOf, type CommandSchedule } from "./schedule.js";
export { defineProjection, type AnyProjection, type FieldType, type ProjectedEvent, type Projection } from "./projection.js";
