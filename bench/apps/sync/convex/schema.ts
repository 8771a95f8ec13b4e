import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  items: defineTable({ channel: v.string(), marker: v.string() }).index("by_channel", ["channel"]),
  feed: defineTable({ marker: v.string() }),
});
