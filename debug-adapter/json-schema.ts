// The JSON-schema checker lives in vmm-core (the CLI validates machine config files and test
// lists with it too); the adapter uses the same one.
export { validateJson, type JsonSchema, type JsonType } from '../vmm-core/machine/json-schema';
