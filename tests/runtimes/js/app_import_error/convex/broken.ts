import { query } from "./_generated/server";

const config = JSON.parse(process.env.BROKEN_CONFIG ?? "{}");

function check(value: { required?: string }) {
  if (value.required === undefined) {
    throw new Error("BROKEN_CONFIG.required is missing");
  }
}
check(config);

export const never = query({ args: {}, handler: async () => config });
