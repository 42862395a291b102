import validateRules from '../../generated/validate-rules.json';
import { messageTypeRegistry } from '../../generated/typeRegistry';
import '../any';
import type { RuleSchema } from './rule-schema';

const schema = validateRules as unknown as RuleSchema;

describe('validate-rules.json', () => {
  // The plugin derives ts-proto's property names itself; a generated message with every field
  // initialised shows which properties really exist.
  it('names only properties the generated messages have', () => {
    const mismatches = Object.entries(schema.messages).flatMap(([typeName, message]) => {
      const type = messageTypeRegistry.get(typeName);
      if (!type) return [`${typeName}: not generated`];
      const properties = new Set(Object.keys(type.fromPartial({}) as object));
      const keys = [
        ...message.fields.map((field) => field.oneof ?? field.key),
        ...(message.oneofs ?? []).map((oneof) => oneof.key),
      ];
      return keys.filter((key) => !properties.has(key)).map((key) => `${typeName}.${key}`);
    });

    expect(mismatches).toEqual([]);
  });
});
