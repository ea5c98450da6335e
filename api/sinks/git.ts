// The spec block of sink type git (spec.git): see api/sinks/index.ts.
/** A Git repository over HTTPS; credentials come from secretRef (username, password). */
export interface GitSinkSpec {
  /**
   * https:// URL of the repository.
   * @minLength 1
   * @maxLength 2048
   * @x-kubernetes-validations [{rule: "self.startsWith('https://')", message: "must be an https:// URL", reason: "FieldValueForbidden"}, {rule: "!self.matches('^[a-z]+://[^/@]*:[^/@]*@')", message: "must not contain a password: put credentials in the Secret named by spec.secretRef", reason: "FieldValueForbidden"}]
   */
  url: string;
  /**
   * Branch to commit to.
   * @default main
   * @minLength 1
   * @maxLength 255
   * @pattern ^[A-Za-z0-9_]([A-Za-z0-9._/-]*[A-Za-z0-9_-])?$
   * @x-kubernetes-validations [{rule: "!self.contains('..') && !self.contains('//') && !self.endsWith('.lock')", message: "must be a valid git branch name"}]
   */
  branch?: string;
  /**
   * Directory inside the repository, default `{cluster}/{inventoryNamespace}/{inventoryName}`
   * (the inventory's cluster, namespace and name); placeholders `{cluster}`,
   * `{inventoryNamespace}`, `{inventoryName}`.
   * @minLength 1
   * @maxLength 1024
   * @x-kubernetes-validations [{rule: "!self.startsWith('/') && !self.matches('(^|/)[.][.](/|$)')", message: "must be a relative path without .. segments"}]
   */
  path?: string;
  /**
   * Commit author name.
   * @maxLength 256
   */
  authorName?: string;
  /**
   * Commit author email.
   * @maxLength 256
   */
  authorEmail?: string;
}
