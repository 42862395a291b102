/**
 * The generic half of request validation: a walker that checks an operation's input against
 * an AWS service model (as scripts/generate-appmesh-model.mjs reduces it) and runs the semantic
 * rules registered for each shape. App Mesh (validation.ts) and Cloud Map
 * (cloud-map/validation.ts) each instantiate it with their model and rules and raise their own
 * API's error from the issues it finds.
 */

export interface MemberRef {
  shape: string;
  location?: 'uri' | 'querystring';
  locationName?: string;
}

export interface Shape {
  type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'boolean' | 'timestamp';
  members?: Record<string, MemberRef>;
  member?: MemberRef;
  key?: MemberRef;
  value?: MemberRef;
  required?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  union?: boolean;
}

export interface Operation {
  name: string;
  method: string;
  requestUri: string;
  input: string;
}

export interface ServiceModel {
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
}

export type Report = (path: string, message: string) => void;

/** A rule the model cannot express; runs on a value that has passed the model checks. */
export type SemanticRule<T> = (value: T, path: string, report: Report) => void;

/** How many issues one error message lists before it summarises the rest. */
const MAX_LISTED_ISSUES = 10;

export class ModelValidator {
  constructor(
    private readonly api: string,
    private readonly model: ServiceModel,
    private readonly rules: Partial<Record<string, SemanticRule<unknown>[]>> = {},
  ) {}

  /** Whether the model has the operation. */
  has(operation: string): boolean {
    return Object.hasOwn(this.model.operations, operation);
  }

  /**
   * Every issue with an operation's input, as one message ('' when there is none). `input`
   * holds every member of the operation's input shape by its model name.
   */
  problems(operation: string, input: Record<string, unknown>): string {
    const inputShape = this.has(operation) ? this.model.operations[operation]?.input : undefined;
    if (inputShape === undefined) throw new Error(`unknown ${this.api} operation ${operation}`);
    const issues: string[] = [];
    this.validateShape(inputShape, input, '', (path, message) =>
      issues.push(`${path}: ${message}`),
    );
    const listed = issues.slice(0, MAX_LISTED_ISSUES);
    if (issues.length > MAX_LISTED_ISSUES) {
      listed.push(`and ${issues.length - MAX_LISTED_ISSUES} more`);
    }
    return listed.join('; ');
  }

  /**
   * Returns whether the value matches the model shape, so that semantic rules only ever see
   * values that have their generated type.
   */
  private validateShape(shapeName: string, value: unknown, path: string, report: Report): boolean {
    const shape = this.shapeOf(shapeName);
    switch (shape.type) {
      case 'structure':
        return this.validateStructure(shapeName, shape, value, path, report);
      case 'list':
        return this.validateList(shape, value, path, report);
      case 'map':
        return this.validateMap(shape, value, path, report);
      case 'string':
        return (
          reportAll(path, stringProblems(shape, value), report) &&
          this.applyRules(shapeName, value, path, report)
        );
      case 'integer':
      case 'long':
        return reportAll(path, integerProblems(shape, value), report);
      case 'boolean':
        return reportAll(
          path,
          typeProblems(typeof value === 'boolean', 'a boolean', value),
          report,
        );
      case 'timestamp':
        return reportAll(path, typeProblems(typeof value === 'number', 'a number', value), report);
    }
  }

  /** A string shape's semantic rules, once it has passed the model's own checks. */
  private applyRules(shapeName: string, value: unknown, path: string, report: Report): boolean {
    const rules = Object.hasOwn(this.rules, shapeName) ? this.rules[shapeName] : undefined;
    let valid = true;
    for (const rule of rules ?? []) {
      rule(value, path, (rulePath, message) => {
        valid = false;
        report(rulePath, message);
      });
    }
    return valid;
  }

  private validateStructure(
    shapeName: string,
    shape: Shape,
    value: unknown,
    path: string,
    report: Report,
  ): boolean {
    if (!isObject(value)) {
      report(path, `must be an object, got ${kindOf(value)}`);
      return false;
    }
    let valid = true;
    const fail = (memberPath: string, message: string) => {
      valid = false;
      report(memberPath, message);
    };
    const members = shape.members ?? {};
    for (const name of shape.required ?? []) {
      if (value[name] === undefined) fail(field(path, name), 'is required');
    }
    for (const [name, memberValue] of Object.entries(value)) {
      const member = Object.hasOwn(members, name) ? members[name] : undefined;
      if (memberValue === undefined) continue;
      if (member === undefined) {
        fail(field(path, name), 'unknown field');
        continue;
      }
      const received =
        member.location === 'querystring'
          ? this.fromQueryString(member.shape, memberValue)
          : memberValue;
      if (!this.validateShape(member.shape, received, field(path, name), report)) valid = false;
    }
    if (shape.union) {
      const set = Object.keys(members).filter((name) => value[name] !== undefined);
      if (set.length !== 1) fail(path, exactlyOneOf(Object.keys(members), set.length));
    }
    if (valid) {
      for (const rule of this.rules[shapeName] ?? []) rule(value, path, report);
    }
    return valid;
  }

  private validateList(shape: Shape, value: unknown, path: string, report: Report): boolean {
    if (!Array.isArray(value)) {
      report(path, `must be a list, got ${kindOf(value)}`);
      return false;
    }
    const items: unknown[] = value;
    let valid = reportAll(path, countProblems(shape, items.length, 'item'), report);
    const itemShape = shape.member?.shape ?? '';
    items.forEach((item, index) => {
      if (!this.validateShape(itemShape, item, `${path}[${index}]`, report)) valid = false;
    });
    return valid;
  }

  /** A map's keys and values each have a shape; keys are checked as strings of the key shape. */
  private validateMap(shape: Shape, value: unknown, path: string, report: Report): boolean {
    if (!isObject(value)) {
      report(path, `must be an object, got ${kindOf(value)}`);
      return false;
    }
    const entries = Object.entries(value);
    let valid = reportAll(path, countProblems(shape, entries.length, 'entry'), report);
    for (const [key, entryValue] of entries) {
      const entryPath = `${path}[${JSON.stringify(key)}]`;
      if (!this.validateShape(shape.key?.shape ?? '', key, `${entryPath} (key)`, report)) {
        valid = false;
      }
      if (!this.validateShape(shape.value?.shape ?? '', entryValue, entryPath, report)) {
        valid = false;
      }
    }
    return valid;
  }

  /** Query-string members arrive as text; an integer member such as `limit` is read as a number. */
  private fromQueryString(shapeName: string, value: unknown): unknown {
    const { type } = this.shapeOf(shapeName);
    const isInteger = type === 'integer' || type === 'long';
    return isInteger && typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  }

  private shapeOf(name: string): Shape {
    const shape = Object.hasOwn(this.model.shapes, name) ? this.model.shapes[name] : undefined;
    if (shape === undefined) throw new Error(`${this.api} model has no shape ${name}`);
    return shape;
  }
}

function countProblems(shape: Shape, count: number, noun: string): string[] {
  const problems: string[] = [];
  if (shape.min !== undefined && count < shape.min) {
    problems.push(`must have at least ${shape.min} ${noun}(s), got ${count}`);
  }
  if (shape.max !== undefined && count > shape.max) {
    problems.push(`must have at most ${shape.max} ${noun}(s), got ${count}`);
  }
  return problems;
}

function stringProblems(shape: Shape, value: unknown): string[] {
  if (typeof value !== 'string') return typeProblems(false, 'a string', value);
  // Model lengths count characters (code points), not UTF-16 units.
  const length = [...value].length;
  const problems: string[] = [];
  if (shape.min !== undefined && length < shape.min) {
    problems.push(`must be at least ${shape.min} character(s) long, got ${length}`);
  }
  if (shape.max !== undefined && length > shape.max) {
    problems.push(`must be at most ${shape.max} character(s) long, got ${length}`);
  }
  if (shape.pattern !== undefined && !patternOf(shape.pattern).test(value)) {
    problems.push(`must match the pattern ${shape.pattern}`);
  }
  if (shape.enum !== undefined && !shape.enum.includes(value)) {
    problems.push(oneOf(shape.enum, value));
  }
  return problems;
}

function integerProblems(shape: Shape, value: unknown): string[] {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    return [`must be an integer, got ${describe(value)}`];
  }
  if (shape.min !== undefined && value < shape.min) {
    return [`must be at least ${shape.min}, got ${value}`];
  }
  if (shape.max !== undefined && value > shape.max) {
    return [`must be at most ${shape.max}, got ${value}`];
  }
  return [];
}

function typeProblems(ok: boolean, expected: string, value: unknown): string[] {
  return ok ? [] : [`must be ${expected}, got ${kindOf(value)}`];
}

function reportAll(path: string, problems: string[], report: Report): boolean {
  problems.forEach((problem) => report(path, problem));
  return problems.length === 0;
}

/**
 * Model patterns are Java regexes. The ones App Mesh and Cloud Map use mean the same in JS with
 * the `u` flag (the generator refuses patterns that do not compile that way); a Java pattern
 * constrains the whole value, hence the anchors.
 */
const patterns = new Map<string, RegExp>();
function patternOf(pattern: string): RegExp {
  let regExp = patterns.get(pattern);
  if (regExp === undefined) {
    regExp = new RegExp(`^(?:${pattern})$`, 'u');
    patterns.set(pattern, regExp);
  }
  return regExp;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** A value as a message quotes it: numbers and strings themselves, anything else by kind. */
function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return kindOf(value);
}

export function field(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

export function exactlyOneOf(names: readonly string[], set: number): string {
  return `exactly one of ${names.join(', ')} must be set, got ${set}`;
}

export function oneOf(allowed: readonly string[], value: string): string {
  return `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`;
}
