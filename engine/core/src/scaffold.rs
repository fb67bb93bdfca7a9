//! `iamwarden init`: the files of a policy-as-code repository: a pack that includes the
//! built-ins with overrides and adds a custom rule, that rule's tests, the JSON Schemas the
//! packs' modelines point at, a CI workflow (validate, test, plan, post the markdown diff,
//! upload SARIF), and a README. Pure: returns (path, contents); the CLI writes them.

/// The pack.
const PACK: &str = r#"# yaml-language-server: $schema=../schemas/rule-pack.schema.json
# (the schema of this iamwarden release is also published at RULE_PACK_SCHEMA_ID)
# Our IAM rules: the built-ins, tuned, plus rules of our own. Reviewed in pull requests;
# `iamwarden test packs` runs the tests beside this file.
pack:
  name: acme/iam
  version: 1.0.0
  description: The built-in rules with our thresholds, and our own rules.
  requires_iamwarden: 0.1.0
  exempt:
    tags:
      iamwarden:exempt: "true"

include: [builtin]

overrides:
  # CIS AWS Foundations 1.12 asks for 45 days, the built-in default is 90.
  access-key-unused:
    params: {days: 45}
  console-password-unused:
    params: {days: 45}
  # Contractors' consoles matter more to us than the default severity says.
  console-user-without-mfa:
    severity: critical

rules:
  - id: contractors-without-mfa
    title: Contractor with console access and no MFA
    severity: critical
    description: >-
      A user tagged team=contractors who can sign in to the console without MFA. Contractors
      leave without telling IAM; a password without MFA is the door they leave open. Reported
      only: ask the contractor to enable MFA, or remove the console password.
    references:
      - CIS AWS Foundations 3.0 1.10
    select: $.users
    when:
      all:
        - {path: $.tags.team, eq: contractors}
        - {path: $.password_enabled, eq: true}
        - {path: $.mfa_enabled, eq: false}
"#;

/// The pack's tests.
const TESTS: &str = r#"# yaml-language-server: $schema=../schemas/rule-tests.schema.json
# (the schema of this iamwarden release is also published at RULE_TESTS_SCHEMA_ID)
# Tests of acme.yaml: `iamwarden test packs`.
tests:
  - name: a contractor with a console password and no MFA is flagged
    inventory:
      users: [{name: carol, tags: {team: contractors}}]
      login_profiles: [{user: carol}]
    expect:
      contractors-without-mfa: {match: [carol]}
  - name: a contractor with MFA, and an employee without, are not
    inventory:
      users:
        - {name: dan, tags: {team: contractors}}
        - {name: erin, tags: {team: platform}}
      login_profiles: [{user: dan}, {user: erin}]
      mfa_devices:
        - {id: "arn:aws:iam::123456789012:mfa/dan", user: dan, virtual: true, enabled_at: "2025-01-01T00:00:00Z"}
    expect:
      contractors-without-mfa: {no_match: [dan, erin]}
  - name: keys unused for 45 days are deactivated (our CIS threshold)
    inventory:
      users: [{name: fred}]
      access_keys:
        - {id: AKIAOLDKEY, user: fred, created_at: "2025-01-01T00:00:00Z", last_used_at: "2025-11-01T00:00:00Z"}
    expect:
      access-key-unused:
        match: [AKIAOLDKEY]
        actions: [deactivate_access_key AKIAOLDKEY]
"#;

/// The install step of both workflows: the release tarball of iamwarden `@VERSION@` for the
/// runner's architecture, checked against the release's SHA256SUMS (`sha256sum -c`), on PATH.
const INSTALL: &str = r#"      - name: Install iamwarden @VERSION@ (release binary, checksum checked)
        env:
          IAMWARDEN_VERSION: "@VERSION@"
        run: |
          base="https://github.com/iamwarden/iamwarden/releases/download/v$IAMWARDEN_VERSION"
          tarball="iamwarden-$IAMWARDEN_VERSION-$(uname -m)-unknown-linux-musl.tar.gz"
          mkdir -p "$RUNNER_TEMP/iamwarden/bin"
          cd "$RUNNER_TEMP/iamwarden"
          curl -fsSL --retry 3 -O "$base/$tarball" -O "$base/SHA256SUMS"
          awk -v f="$tarball" '$2 == f' SHA256SUMS > "$tarball.sha256"
          sha256sum -c "$tarball.sha256"
          tar -xzf "$tarball"
          install -m 0755 "${tarball%.tar.gz}/iamwarden" bin/iamwarden
          echo "$RUNNER_TEMP/iamwarden/bin" >> "$GITHUB_PATH"
          bin/iamwarden --version
"#;

/// A workflow template with its install step: iamwarden at this crate's version.
fn with_install(template: &str) -> String {
    template.replace(
        "      - INSTALL_IAMWARDEN\n",
        &INSTALL.replace("@VERSION@", env!("CARGO_PKG_VERSION")),
    )
}

/// The CI workflow `init --ci github` writes (the pinned release of this version).
pub fn workflow() -> String {
    with_install(WORKFLOW)
}

/// The CI workflow's template (its install step is [`INSTALL`]).
const WORKFLOW: &str = r#"# Runs on every pull request that changes the rules, and on main: validate the packs, run
# their tests, read the account, and show the plan where reviewers look (a PR comment with the
# markdown diff, code-scanning alerts from SARIF). Applying stays a deliberate, reviewed step:
# download the plan artifact and run `iamwarden apply plan.json`. iamwarden is the pinned
# release binary of the version that wrote this file, checked against the release's SHA256SUMS;
# the actions are pinned by commit; the JUnit and SARIF reports upload even when a step fails.
name: iamwarden
on:
  pull_request:
  push:
    branches: [main]
permissions:
  contents: read
  id-token: write          # OIDC to assume the read-only role
  pull-requests: write     # the plan comment
  security-events: write   # SARIF upload
jobs:
  plan:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
      - INSTALL_IAMWARDEN
      - name: Validate the packs
        run: iamwarden validate packs
      - name: Run the rule tests
        run: iamwarden test packs --format junit > rule-tests.xml
      - uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3
        with:
          role-to-assume: ${{ vars.IAMWARDEN_READ_ROLE }}   # grants examples/iam-read-only-policy.json
          aws-region: us-east-1
      - name: Read the account
        run: iamwarden snapshot --out snapshot.json
      - name: Plan
        run: |
          iamwarden plan --snapshot snapshot.json --rules packs --out plan.json --format markdown > plan.md
          iamwarden plan --snapshot snapshot.json --rules packs --format sarif > iamwarden.sarif
      - uses: github/codeql-action/upload-sarif@8aad20d150bbac5944a9f9d289da16a4b0d87c1e # v4.36.2
        if: always() && hashFiles('iamwarden.sarif') != ''
        with:
          sarif_file: iamwarden.sarif
      - uses: marocchino/sticky-pull-request-comment@5770ad5eb8f42dd2c4f34da00c94c5381e49af88 # v3.0.5
        if: github.event_name == 'pull_request'
        with:
          path: plan.md
      - uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0
        if: always()       # the rule-test JUnit report too when tests or the plan fail
        with:
          name: iamwarden-plan
          path: |
            plan.json
            snapshot.json
            rule-tests.xml
"#;

/// The README.
const README: &str = r#"# IAM policy as code

Our AWS IAM rules, checked by [iamwarden](https://github.com/iamwarden/iamwarden).

- `packs/acme.yaml`: the built-in rules with our thresholds (`overrides`), and our own rules.
- `packs/acme.tests.yaml`: their tests.
- `schemas/`: JSON Schemas for editor help (the packs' first lines point at them).
- `.github/workflows/iamwarden.yml`: on every pull request, validate, test, plan, and post the
  diff as a comment and the findings to code scanning.

## Change a rule

1. Edit `packs/acme.yaml` (a new rule, a parameter in `overrides`, `disabled: true`).
2. Add a case to `packs/acme.tests.yaml`: what the rule must and must not match.
3. Locally: `iamwarden validate packs && iamwarden test packs`.
4. See why a rule matches or not: `iamwarden explain --rules packs --rule ID --resource NAME --snapshot FILE`.
5. Open a pull request; CI posts the plan.

## Apply

After review, with credentials that may change IAM:

```sh
iamwarden apply plan.json        # shows the diff, asks for yes; refuses a stale or edited plan
iamwarden undo plan.json.journal.jsonl   # if needed
```
"#;

/// The organization workflow (`init --ci github-org`): a matrix of `SHARDS` jobs, each
/// `org plan --shard I/N` into an artifact, then one job merging them with `org report`.
const ORG_WORKFLOW: &str = r#"# Plans every account of the organization in SHARDS parallel jobs (a GitHub Actions matrix),
# each `iamwarden org plan --shard I/SHARDS` as the role IAMWARDEN_ORG_CALLER_ROLE (it grants
# examples/iam-org-caller-policy.json and assumes IAMWARDEN_MEMBER_ROLE in each account), then
# merges the shards into one organization report: a job summary, SARIF with one run per account,
# and the plans as an artifact for a reviewed `iamwarden org apply`.
name: iamwarden-org
on:
  schedule:
    - cron: "17 5 * * 1"
  workflow_dispatch:
permissions:
  contents: read
  id-token: write          # OIDC to assume the caller role
  security-events: write   # SARIF upload
jobs:
  plan:
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false     # one shard failing never stops the others
      matrix:
        shard: [SHARD_LIST]
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
      - INSTALL_IAMWARDEN
      - uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3
        with:
          role-to-assume: ${{ vars.IAMWARDEN_ORG_CALLER_ROLE }}
          aws-region: us-east-1
      - name: Plan shard ${{ matrix.shard }} of SHARDS
        env:
          MEMBER_ROLE: ${{ vars.IAMWARDEN_MEMBER_ROLE }}
        run: |
          iamwarden org plan --rules packs --role-name "$MEMBER_ROLE" \
            --shard "${{ matrix.shard }}/SHARDS" --out "out/shard-${{ matrix.shard }}"
      - uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0
        if: always()
        with:
          name: iamwarden-org-shard-${{ matrix.shard }}
          path: out/shard-${{ matrix.shard }}
  report:
    needs: plan
    if: always()
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
      - INSTALL_IAMWARDEN
      - uses: actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c # v8.0.1
        with:
          pattern: iamwarden-org-shard-*
          path: shards
      - name: Merge the shards
        run: |
          iamwarden org report shards/* --format markdown >> "$GITHUB_STEP_SUMMARY"
          iamwarden org report shards/* --rules packs --format sarif > iamwarden-org.sarif
      - uses: github/codeql-action/upload-sarif@8aad20d150bbac5944a9f9d289da16a4b0d87c1e # v4.36.2
        if: always() && hashFiles('iamwarden-org.sarif') != ''
        with:
          sarif_file: iamwarden-org.sarif
"#;

/// The organization workflow for `shards` parallel jobs (at least 1).
pub fn org_workflow(shards: u32) -> String {
    let n = shards.max(1);
    let list: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    with_install(ORG_WORKFLOW)
        .replace("SHARD_LIST", &list.join(", "))
        .replace("SHARDS", &n.to_string())
}

/// Where [`org_workflow`] is written in a new repository.
pub const ORG_WORKFLOW_PATH: &str = ".github/workflows/iamwarden-org.yml";

/// Where the schemas go in a new repository (the packs' modelines point there); the CLI writes
/// them with `schema --write`'s code ([`crate::schema::files`]).
pub const SCHEMA_DIR: &str = "schemas";

/// The files of a new repository, relative to its root, except the schemas ([`SCHEMA_DIR`]).
pub fn files() -> Vec<(String, String)> {
    let pack = PACK.replace("RULE_PACK_SCHEMA_ID", &crate::schema::id("rule-pack"));
    let tests = TESTS.replace("RULE_TESTS_SCHEMA_ID", &crate::schema::id("rule-tests"));
    vec![
        ("packs/acme.yaml".into(), pack),
        ("packs/acme.tests.yaml".into(), tests),
        (".github/workflows/iamwarden.yml".into(), workflow()),
        ("README.md".into(), README.into()),
    ]
}
