import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';

/**
 * The lookups server reflection answers, built once from a FileDescriptorSet that holds
 * every imported file (`buf build --as-file-descriptor-set`).
 */
export class DescriptorIndex {
  private readonly files = new Map<string, FileDescriptorProto>();
  private readonly encoded = new Map<string, Buffer>();
  private readonly symbols = new Map<string, string>();
  /** Extendee full name -> extension number -> file declaring the extension. */
  private readonly extensions = new Map<string, Map<number, string>>();
  private readonly services = new Set<string>();
  private readonly messages = new Set<string>();

  constructor(descriptorSet: Uint8Array) {
    const set = fromBinary(FileDescriptorSetSchema, descriptorSet);
    for (const file of set.file) {
      if (this.files.has(file.name)) throw new Error(`descriptor set holds ${file.name} twice`);
      this.files.set(file.name, file);
      this.encoded.set(file.name, Buffer.from(toBinary(FileDescriptorProtoSchema, file)));
    }
    for (const file of set.file) this.indexFile(file);
    for (const file of set.file) {
      for (const dep of file.dependency) {
        if (!this.files.has(dep)) throw new Error(`descriptor set lacks ${dep}, imported by ${file.name}`);
      }
    }
  }

  /** Full names of every service the set declares. */
  serviceNames(): string[] {
    return [...this.services].sort();
  }

  hasService(fullName: string): boolean {
    return this.services.has(fullName);
  }

  /** The file that declares a symbol (`pkg.Message`, `pkg.Service.Method`, ...), if any. */
  fileContainingSymbol(symbol: string): string | undefined {
    return this.symbols.get(stripLeadingDot(symbol));
  }

  fileContainingExtension(extendee: string, fieldNumber: number): string | undefined {
    return this.extensions.get(stripLeadingDot(extendee))?.get(fieldNumber);
  }

  /** Extension numbers declared for a message; undefined when the message is unknown. */
  extensionNumbersOf(extendee: string): number[] | undefined {
    const name = stripLeadingDot(extendee);
    if (!this.messages.has(name)) return undefined;
    return [...(this.extensions.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }

  hasFile(name: string): boolean {
    return this.files.has(name);
  }

  /**
   * The serialized FileDescriptorProto of a file followed by those of all its transitive
   * imports, each once, as grpc-go sends them: a client can then build every type the
   * file refers to from this one answer.
   */
  fileWithDependencies(name: string): Buffer[] {
    const order: string[] = [];
    const seen = new Set<string>();
    const queue = [name];
    while (queue.length > 0) {
      const next = queue.shift() as string;
      if (seen.has(next)) continue;
      seen.add(next);
      const file = this.files.get(next);
      if (file === undefined) throw new Error(`no file ${next} in the descriptor set`);
      order.push(next);
      queue.push(...file.dependency);
    }
    return order.map((fileName) => this.encoded.get(fileName) as Buffer);
  }

  private indexFile(file: FileDescriptorProto): void {
    const scope = file.package;
    for (const message of file.messageType) this.indexMessage(file.name, scope, message);
    for (const enumType of file.enumType) this.indexEnum(file.name, scope, enumType);
    for (const extension of file.extension) this.indexExtension(file.name, scope, extension);
    for (const service of file.service) {
      const serviceName = qualify(scope, service.name);
      this.services.add(serviceName);
      this.addSymbol(serviceName, file.name);
      for (const method of service.method) this.addSymbol(qualify(serviceName, method.name), file.name);
    }
  }

  private indexMessage(fileName: string, scope: string, message: DescriptorProto): void {
    const name = qualify(scope, message.name);
    this.messages.add(name);
    this.addSymbol(name, fileName);
    for (const field of message.field) this.addSymbol(qualify(name, field.name), fileName);
    for (const oneof of message.oneofDecl) this.addSymbol(qualify(name, oneof.name), fileName);
    for (const nested of message.nestedType) this.indexMessage(fileName, name, nested);
    for (const enumType of message.enumType) this.indexEnum(fileName, name, enumType);
    for (const extension of message.extension) this.indexExtension(fileName, name, extension);
  }

  private indexEnum(fileName: string, scope: string, enumType: EnumDescriptorProto): void {
    const name = qualify(scope, enumType.name);
    this.addSymbol(name, fileName);
    for (const value of enumType.value) {
      // Protobuf scopes enum values beside their enum (C++ rules), while grpcurl prints
      // and accepts them under it (`pkg.Enum.VALUE`): both spellings resolve.
      this.addSymbol(qualify(scope, value.name), fileName);
      this.addSymbol(qualify(name, value.name), fileName);
    }
  }

  private indexExtension(fileName: string, scope: string, extension: FieldDescriptorProto): void {
    this.addSymbol(qualify(scope, extension.name), fileName);
    const extendee = stripLeadingDot(extension.extendee);
    let numbers = this.extensions.get(extendee);
    if (numbers === undefined) {
      numbers = new Map();
      this.extensions.set(extendee, numbers);
    }
    numbers.set(extension.number, fileName);
  }

  private addSymbol(fullName: string, fileName: string): void {
    // First declaration wins; a valid set never declares one name in two files.
    if (!this.symbols.has(fullName)) this.symbols.set(fullName, fileName);
  }
}

function qualify(scope: string, name: string): string {
  return scope === '' ? name : `${scope}.${name}`;
}

function stripLeadingDot(name: string): string {
  return name.startsWith('.') ? name.slice(1) : name;
}
