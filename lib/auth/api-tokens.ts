import { createHash, randomBytes } from "node:crypto";

/**
 * Personal API tokens: `cdk_` + base64url of 32 random bytes (256 bits). The prefix lets secret
 * scanners recognise a leaked one; the database keeps only the SHA-256 of the whole secret
 * (a random 256-bit secret needs no slow hash), and a request's token is found by that hash.
 */
export const API_TOKEN_PREFIX = "cdk_";
const SHAPE = /^cdk_[A-Za-z0-9_-]{43}$/;

export const newApiTokenSecret = () => `${API_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
export const apiTokenHash = (secret: string) => createHash("sha256").update(secret, "utf8").digest("hex");
export const looksLikeApiToken = (value: string) => SHAPE.test(value);
/** What a list shows to recognise a token: its first characters. */
export const apiTokenShownPrefix = (secret: string) => secret.slice(0, 10);
