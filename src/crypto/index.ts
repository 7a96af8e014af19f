// Secrets at rest: the secret box that seals and opens them.
export { loadSecretBox, type SecretBox, type SecretPlace } from "./secret-box";
