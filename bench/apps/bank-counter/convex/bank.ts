import { ShardedCounter } from "@convex-dev/sharded-counter";
import { v } from "convex/values";
import { components } from "./_generated/api";
import { mutation, query } from "./_generated/server";

const counter = new ShardedCounter(components.shardedCounter);

// Read two accounts, write both, and count the transfer in the sharded-counter component.
export const transfer = mutation({
  args: { from: v.id("accounts"), to: v.id("accounts"), amount: v.number() },
  handler: async (ctx, { from, to, amount }) => {
    const a = await ctx.db.get(from);
    const b = await ctx.db.get(to);
    if (a === null || b === null) throw new Error("no such account");
    await ctx.db.patch(from, { balance: a.balance - amount });
    await ctx.db.patch(to, { balance: b.balance + amount });
    await counter.inc(ctx, "transfers");
  },
});

export const transfers = query({
  args: {},
  handler: async (ctx) => await counter.count(ctx, "transfers"),
});

export const seed = mutation({
  args: { first: v.number(), count: v.number() },
  handler: async (ctx, { first, count }) => {
    const ids = [];
    for (let n = first; n < first + count; n++) {
      ids.push(await ctx.db.insert("accounts", { n, balance: 1000 }));
    }
    return ids;
  },
});

export const total = query({
  args: {},
  handler: async (ctx) => {
    let sum = 0;
    for await (const a of ctx.db.query("accounts")) sum += a.balance;
    return sum;
  },
});
