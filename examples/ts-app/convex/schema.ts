import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

export default defineSchema({
  users: defineTable({
    name: v.string(),
    email: v.string(),
  })
    .index("by_email", ["email"])
    .index("by_name", ["name"]),
  channels: defineTable({
    name: v.string(),
    topic: v.optional(v.string()),
    lastSeq: v.number(),
  }).index("by_name", ["name"]),
  messages: defineTable({
    channel: v.id("channels"),
    author: v.id("users"),
    body: v.string(),
    seq: v.number(),
    likes: v.number(),
  })
    .index("by_channel_seq", ["channel", "seq"])
    .index("by_author", ["author"]),
  // Written by the cron jobs (crons.ts).
  heartbeats: defineTable({ cron: v.string() }).index("by_cron", ["cron"]),
  // Uploaded files (files.ts): the id of each in _storage.
  files: defineTable({ name: v.string(), storageId: v.id("_storage") }),
});
