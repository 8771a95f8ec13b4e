// The JSON the official npm `convex` package exports for validators, function args and
// returns, schemas and crons, for tests/runtimes/python/test_npm_compat.py: one JSON object
// {case name: exported JSON text} on stdout. The Python side builds the same cases with
// `bayou` and must produce the very same text.
//
// Run with NODE_PATH=<tests/js/node_modules>.
"use strict";

const { v } = require("convex/values");
const { anyApi, cronJobs, defineSchema, defineTable, queryGeneric } = require("convex/server");

const out = {};
const validators = {
  string: v.string(),
  float64: v.float64(),
  number: v.number(),
  int64: v.int64(),
  bigint: v.bigint(),
  boolean: v.boolean(),
  null: v.null(),
  bytes: v.bytes(),
  any: v.any(),
  id: v.id("users"),
  literal_string: v.literal("a\"b"),
  literal_int: v.literal(2),
  literal_float: v.literal(2.5),
  literal_negative_zero: v.literal(-0),
  literal_true: v.literal(true),
  literal_bigint: v.literal(3n),
  array: v.array(v.union(v.string(), v.null())),
  object: v.object({ b: v.string(), a: v.optional(v.float64()), nested: v.object({ x: v.any() }) }),
  record_string: v.record(v.string(), v.float64()),
  record_id: v.record(v.id("users"), v.array(v.bytes())),
  union: v.union(v.literal("x"), v.literal(1), v.object({ kind: v.literal("y") })),
  nullable: v.nullable(v.string()),
};
for (const [name, validator] of Object.entries(validators)) {
  out[`v.${name}`] = JSON.stringify(validator.json);
}

const handler = async () => null;
const withArgs = queryGeneric({
  args: { channel: v.id("channels"), likes: v.optional(v.float64()), tags: v.array(v.string()) },
  returns: v.union(v.null(), v.string()),
  handler,
});
const objectArgs = queryGeneric({ args: v.object({ a: v.string() }), returns: { b: v.int64() }, handler });
const noArgs = queryGeneric({ handler });
const emptyArgs = queryGeneric({ args: {}, handler });
out["args.with_args"] = withArgs.exportArgs();
out["returns.with_args"] = withArgs.exportReturns();
out["args.object_args"] = objectArgs.exportArgs();
out["returns.object_args"] = objectArgs.exportReturns();
out["args.no_args"] = noArgs.exportArgs();
out["returns.no_args"] = noArgs.exportReturns();
out["args.empty_args"] = emptyArgs.exportArgs();

out["schema"] = defineSchema({
  channels: defineTable({ name: v.string() }),
  messages: defineTable({
    channel: v.id("channels"),
    body: v.string(),
    likes: v.optional(v.float64()),
    embedding: v.optional(v.array(v.float64())),
  })
    .index("by_channel", ["channel"])
    .index("by_channel_body", { fields: ["channel", "body"] })
    .index("by_body", { fields: ["body"], staged: true })
    .searchIndex("search_body", { searchField: "body", filterFields: ["channel"] })
    .searchIndex("search_staged", { searchField: "body", staged: true })
    .vectorIndex("by_embedding", { vectorField: "embedding", dimensions: 1536, filterFields: ["channel"] }),
  events: defineTable(v.union(v.object({ kind: v.literal("a") }), v.object({ kind: v.literal("b"), n: v.int64() }))),
  anything: defineTable(v.any()),
}).export();
out["schema.no_validation"] = defineSchema({ t: defineTable({}) }, { schemaValidation: false }).export();

const crons = cronJobs();
crons.interval("seconds", { seconds: 30 }, anyApi.jobs.tick);
crons.interval("minutes", { minutes: 10 }, anyApi.jobs.tick, { n: 1, s: "x" });
crons.interval("hours", { hours: 2 }, anyApi.admin.jobs.tick, {});
crons.hourly("hourly", { minuteUTC: 5 }, anyApi.jobs.tick);
crons.hourly("hourly random", anyApi.jobs.tick);
crons.daily("daily", { hourUTC: 7, minuteUTC: 30 }, anyApi.jobs.tick);
crons.daily("daily random minute", { hourUTC: 7 }, anyApi.jobs.tick);
crons.weekly("weekly", { dayOfWeek: "tuesday", hourUTC: 8, minuteUTC: 0 }, anyApi.jobs.tick);
crons.monthly("monthly", { day: 1, hourUTC: 0 }, anyApi.jobs.tick, { big: 5n, bytes: new Uint8Array([1, 2]).buffer });
crons.cron("cron", "*/5 * * * *", anyApi.jobs.tick);
crons.cron("string path", "0 0 * * *", "jobs:tick");
out["crons"] = crons.export();

process.stdout.write(JSON.stringify(out));
