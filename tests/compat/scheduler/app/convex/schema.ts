import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  events: defineTable({ kind: v.string(), note: v.optional(v.string()) }).index("by_kind", ["kind"]),
});
