import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  values: defineTable({ kind: v.string(), value: v.any() }),
  refs: defineTable({ target: v.id("values"), file: v.optional(v.id("_storage")) }),
  strict: defineTable({ n: v.number() }).index("by_n", ["n"]),
});
