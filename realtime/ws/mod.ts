// The raw-WebSocket kit every raw face (meet, inbox, lounge) is written on.
export { CLOSE } from "./close_codes.ts";
export { type ConnectionLimits, type Refusal, WsConnection } from "./connection.ts";
export {
  createWsEndpoint,
  isUpgrade,
  sendAll,
  type UpgradeAuth,
  type WsEndpointOptions,
} from "./endpoint.ts";
export { type FirstFrameSpec, type Initialised } from "./first_frame.ts";
