// The send loop's face: the dispatcher the service starts (send-thread.ts is a build entry of its own).
export { Dispatcher } from "./dispatcher";
