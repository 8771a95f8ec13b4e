import { v } from "convex/values";
import { api, internal } from "./_generated/api";
import {
  action,
  internalMutation,
  mutation,
  query,
} from "./_generated/server";

export const me = query({
  args: {},
  handler: async (ctx) => await ctx.auth.getUserIdentity(),
});

export const myNotes = query({
  args: {},
  handler: async (ctx) => {
    const user = await ctx.auth.getUserIdentity();
    if (user === null) return null;
    const notes = await ctx.db
      .query("notes")
      .withIndex("by_owner", (q) => q.eq("owner", user.tokenIdentifier))
      .collect();
    return notes.map((n) => n.body);
  },
});

export const addNote = mutation({
  args: { body: v.string() },
  handler: async (ctx, { body }) => {
    const user = await ctx.auth.getUserIdentity();
    if (user === null) throw new Error("Not signed in");
    await ctx.db.insert("notes", { owner: user.tokenIdentifier, body });
  },
});

export const authToken = mutation({
  args: {},
  handler: async (ctx) => (await ctx.meta.getRequestMetadata()).authToken ?? null,
});

export const fromAction = action({
  args: {},
  handler: async (ctx) => ({
    action: await ctx.auth.getUserIdentity(),
    query: await ctx.runQuery(api.whoami.me, {}),
    mutation: await ctx.runMutation(internal.whoami.record, { where: "nested" }),
  }),
});

export const record = internalMutation({
  args: { where: v.string() },
  handler: async (ctx, { where }) => {
    const identity = await ctx.auth.getUserIdentity();
    await ctx.db.insert("seen", { where, identity });
    return identity;
  },
});

export const scheduleRecord = mutation({
  args: {},
  handler: async (ctx) => {
    await ctx.scheduler.runAfter(0, internal.whoami.record, { where: "scheduled" });
  },
});

export const seen = query({
  args: { where: v.string() },
  handler: async (ctx, { where }) => {
    const rows = await ctx.db.query("seen").collect();
    return rows.filter((r) => r.where === where).map((r) => r.identity);
  },
});
