import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  accounts: defineTable({ n: v.number(), balance: v.number() }).index("by_n", ["n"]),
});
