import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  runs: defineTable({ lag: v.number(), via: v.string() }).index("by_via", ["via"]),
});
