import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  notes: defineTable({ body: v.string(), n: v.optional(v.number()), stamp: v.optional(v.int64()) })
    .index("by_body", ["body"])
    .index("by_stamp", ["stamp"])
    .index("by_n", { fields: ["n"], staged: true }),
});
