import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  scores: defineTable({ name: v.string(), score: v.number() }),
  jobsDone: defineTable({ i: v.number() }),
  attempts: defineTable({ key: v.string(), n: v.number() }).index("by_key", ["key"]),
});
