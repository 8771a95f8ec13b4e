import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  messages: defineTable({ body: v.string(), author: v.optional(v.string()) }),
  ranked: defineTable({ rank: v.number() }).index("by_rank", ["rank"]),
  other: defineTable({ n: v.number() }),
});
