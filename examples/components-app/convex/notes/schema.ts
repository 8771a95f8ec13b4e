import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  items: defineTable({ text: v.string() }).index("by_text", ["text"]),
});
