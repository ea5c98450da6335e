// The spec block of sink type gitlab (spec.gitlab): see api/sinks/index.ts.
/**
 * A GitLab project: the snapshot as files on a branch, pushed over HTTPS, optionally through one
 * merge request per inventory. The token comes from secretRef key `token`.
 */
export interface GitLabSinkSpec {
  /**
   * https:// URL of the GitLab instance (its web root, e.g. https://gitlab.example.com); the API is
   * at <url>/api/v4.
   * @minLength 1
   * @maxLength 2048
   * @x-kubernetes-validations [{rule: "self.startsWith('https://')", message: "must be an https:// URL", reason: "FieldValueForbidden"}, {rule: "!self.matches('^[a-z]+://[^/]*@')", message: "must not contain credentials: put the token in the Secret named by spec.secretRef (key token)", reason: "FieldValueForbidden"}]
   */
  url: string;
  /**
   * The project: its full path with namespace (`group/subgroup/project`) or its numeric id.
   * @minLength 1
   * @maxLength 1024
   * @pattern ^([0-9]+|[A-Za-z0-9_.][A-Za-z0-9_.+-]*(/[A-Za-z0-9_.][A-Za-z0-9_.+-]*)+)$
   */
  project: string;
  /**
   * Directory inside the repository, default `{cluster}/{inventoryNamespace}/{inventoryName}`; placeholders
   * `{cluster}`, `{inventoryNamespace}`, `{inventoryName}`.
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
  /** Where commits go: straight to the target branch, or through a merge request. */
  mergeRequest?: GitLabMergeRequestSpec;
}

/** How exports reach the target branch. */
export interface GitLabMergeRequestSpec {
  /**
   * `direct`: push to the target branch. `merge_request`: push to a branch of the inventory
   * (`<branchPrefix><cluster>/<namespace>/<inventory>`) made from the target branch, and keep one
   * open merge request from it into the target branch.
   * @default direct
   */
  mode?: 'direct' | 'merge_request';
  /**
   * Branch the snapshot lands on (direct) or the merge request targets; default the project's
   * default branch.
   * @minLength 1
   * @maxLength 255
   * @pattern ^[A-Za-z0-9_]([A-Za-z0-9._/-]*[A-Za-z0-9_-])?$
   * @x-kubernetes-validations [{rule: "!self.contains('..') && !self.contains('//') && !self.endsWith('.lock')", message: "must be a valid git branch name"}]
   */
  targetBranch?: string;
  /**
   * Prefix of the inventory's branch in merge_request mode.
   * @default kollect/
   * @maxLength 100
   * @pattern ^([A-Za-z0-9_][A-Za-z0-9._/-]*)?$
   * @x-kubernetes-validations [{rule: "!self.contains('..') && !self.contains('//')", message: "must be a valid git branch name prefix"}]
   */
  branchPrefix?: string;
  /**
   * Title of the merge request; `{cluster}`, `{namespace}` and `{inventory}` are replaced by the
   * inventory's cluster, namespace and name.
   * @default Kollect inventory {namespace}/{inventory}
   * @minLength 1
   * @maxLength 255
   */
  titleTemplate?: string;
  /**
   * Ask GitLab to merge the merge request by itself once its pipeline succeeds (at once when the
   * project runs none), after each export that changes it.
   * @default false
   */
  autoMerge?: boolean;
  /**
   * Delete the inventory's branch when its merge request is merged; the next export makes it again
   * from the target branch.
   * @default true
   */
  removeSourceBranch?: boolean;
}
