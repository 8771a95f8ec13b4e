import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  ticks: defineTable({ run: v.string() }).index("by_run", ["run"]),
  blobs: defineTable({ body: v.string() }),
});
