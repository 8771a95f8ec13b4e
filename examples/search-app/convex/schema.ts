import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  notes: defineTable({
    body: v.string(),
    channel: v.string(),
  }).searchIndex("search_body", {
    searchField: "body",
    filterFields: ["channel"],
  }),
  embeddings: defineTable({
    text: v.string(),
    kind: v.string(),
    vector: v.array(v.float64()),
  }).vectorIndex("by_vector", {
    vectorField: "vector",
    dimensions: 4,
    filterFields: ["kind"],
  }),
});
