import { ConvexError, v } from "convex/values";
import { query } from "./_generated/server";

export const noop = query({ args: {}, handler: async () => null });

export const randomness = query({
  args: {},
  handler: async () => ({
    random: [Math.random(), Math.random(), Math.random()],
    now: Date.now(),
    date: new Date().getTime(),
    later: await Promise.resolve(0).then(() => Date.now()),
  }),
});

export const env = query({
  args: { name: v.string() },
  handler: async (_ctx, { name }) => process.env[name] ?? null,
});

export const logs = query({
  args: {},
  handler: async () => {
    console.log("hello", 42, { a: [1, "two"], b: null }, undefined);
    console.info("info");
    console.warn("warn");
    console.error(new Error("shown"));
    console.debug(true);
    return "logged";
  },
});

export const fails = query({
  args: {},
  handler: async () => {
    throw new Error("boom");
  },
});

export const failsWithData = query({
  args: {},
  handler: async () => {
    throw new ConvexError({ code: 42, why: "nope" });
  },
});

export const spin = query({
  args: {},
  handler: async () => {
    // eslint-disable-next-line no-constant-condition
    while (true) {}
  },
});

export const spinAfterAwait = query({
  args: { id: v.id("messages") },
  handler: async (ctx, { id }) => {
    await ctx.db.get(id);
    // eslint-disable-next-line no-constant-condition
    while (true) {}
  },
});

export const usesTimer = query({
  args: {},
  handler: async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return "unreachable";
  },
});

export const usesFetch = query({
  args: {},
  handler: async () => {
    await fetch("http://127.0.0.1:1/");
    return "unreachable";
  },
});

export const slow = query({
  args: { ms: v.number() },
  handler: async (ctx, { ms }) => {
    // Waits on syscalls, not on JS: only JS time counts against the limit.
    const start = Date.now();
    let rounds = 0;
    while (rounds < ms) {
      await ctx.auth.getUserIdentity();
      rounds += 1;
    }
    return { rounds, frozen: Date.now() === start };
  },
});

export const bigints = query({
  args: { n: v.int64() },
  handler: async (_ctx, { n }) => ({ doubled: n * 2n, bytes: new ArrayBuffer(3) }),
});

export const manyLogs = query({
  args: { lines: v.number(), size: v.number() },
  handler: async (_ctx, { lines, size }) => {
    for (let i = 0; i < lines; i++) console.log("x".repeat(size), i);
    return lines;
  },
});

// Module top level runs in import phase: fixed seed and timestamp.
const importedAt = Date.now();
const importRandom = Math.random();

export const importPhase = query({
  args: {},
  handler: async () => ({ importedAt, importRandom, now: Date.now() }),
});

// Module-level state: a fresh context per call starts it over; a reused context keeps it.
let callsSeen = 0;
export const moduleState = query({
  args: {},
  handler: async () => ++callsSeen,
});
