import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  notes: defineTable({ owner: v.string(), body: v.string() }).index("by_owner", ["owner"]),
  seen: defineTable({ where: v.string(), identity: v.any() }),
});
