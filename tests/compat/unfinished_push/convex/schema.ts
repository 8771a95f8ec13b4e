import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  things: defineTable({ a: v.number() }).index("by_a", ["a"]),
});
