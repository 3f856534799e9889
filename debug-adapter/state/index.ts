// Machine state as the debug adapter shows and edits it: registers and CSRs (decoded),
// expressions for evaluate/watch/conditions, the page-table walk, devices and harts. Pure
// helpers over a stopped vmm-core Machine; no DAP types.

export { formatDouble, formatHex, formatSingle, parseInteger64, ValueParseError } from './format';
export {
  controlRegisters, floatRegisters, generalRegisters, hartStateName, machineFacts, programCounter, readControlRegister,
  RegisterError, resolveCsrName, setControlRegister, setRegister,
  type ControlRegister, type CsrGroup, type FloatRegister, type HartFacts, type IntegerRegister, type MachineFacts, type RegisterValue,
} from './registers';
export {
  evaluate, evaluateCondition, evaluateExpression, ExpressionError, formatExpressionValue, parseExpression, typeName, typeSize,
  type BinaryOperator, type ExpressionContext, type ExpressionNode, type ExpressionType, type ExpressionValue, type ScalarType,
  type TypeShape, type UnaryOperator,
} from './expression';
export { machineExpressionContext, readVirtual, type MachineContextOptions } from './context';
export {
  translateAddress, type AccessType, type PteFlags, type Translation, type TranslationLevel, type TranslationMode, type TranslationOptions,
} from './translate';
export {
  deviceState, hartSummary, type BusDevice, type ClintHartState, type DeviceState, type HartSummary, type PlicContextState, type PlicSourceState,
} from './devices';
