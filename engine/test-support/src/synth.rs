//! Deterministic synthetic inventories, for benchmarks and scale tests.
//!
//! [`generate`] builds one account with a given number of users and realistic proportions:
//!
//! - ~40% of users have a console password (a login profile); ~60% of those have an MFA device
//!   (virtual, a few hardware);
//! - 0 to 2 access keys per user (mean ~1.2), created 0 to 800 days before [`base_time`], last
//!   used anywhere from "just now" to "never"; some keys were created at user setup;
//! - ~1 group per user from a pool of `max(10, users / 50)` groups (`admins` first);
//! - ~20% of users with 1 or 2 directly attached managed policies from a pool of
//!   `max(20, users / 100)` customer policies, each with 1 to 3 versions of 2 to 5 statements,
//!   a few of them granting admin access (and a few near-misses that do not);
//! - ~5% of users with an inline policy; `users / 10` roles with trust policies (service,
//!   cross-account, OIDC, a few service-linked, rarely `"AWS": "*"`);
//! - an account password policy, root credentials, and the AWS-managed policies referenced.
//!
//! Every date is relative to the fixed clock [`BASE_UNIX`] (`2026-11-01T00:00:00Z`), never to the
//! wall clock, and the randomness is a splitmix64 generator seeded with `seed`: the same
//! `(users, seed)` always gives the same inventory, on every platform. The result is normalized
//! (derived fields filled in) before it is returned.

use chrono::{DateTime, Duration, Utc};
use iamwarden_core::inventory::{
    AccessKey, Account, Group, InlinePolicy, Inventory, KeyStatus, LoginProfile, ManagedPolicy,
    MfaDevice, OwnerKind, PasswordPolicy, PolicyVersion, Role, RootUser, Tags, User,
    INVENTORY_FORMAT_VERSION,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Unix time of the clock every synthetic date is relative to: `2026-11-01T00:00:00Z`.
pub const BASE_UNIX: i64 = 1_793_491_200;

/// The account id of every synthetic inventory.
pub const ACCOUNT_ID: &str = "123456789012";

const DAY: i64 = 86_400;
const ADMIN_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const S3_RO_ARN: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
const EC2_RO_ARN: &str = "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess";
const LAMBDA_BASIC_ARN: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
const CHANGE_PW_ARN: &str = "arn:aws:iam::aws:policy/IAMUserChangePassword";

/// [`BASE_UNIX`] as a timestamp.
pub fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp(BASE_UNIX, 0).unwrap_or_default()
}

/// The instant `secs` seconds before [`base_time`].
fn before(secs: i64) -> DateTime<Utc> {
    base_time() - Duration::seconds(secs)
}

/// splitmix64: tiny, fast, statistically fine for synthetic data (and for spreading the fault
/// proxy's faults), and the same everywhere.
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_F42D_4C95_7F2D)
    }

    /// A generator whose state is `state` as given (the fault proxy's seed).
    pub(crate) fn from_state(state: u64) -> Rng {
        Rng(state)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi` (`lo` when `hi < lo`).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A value in `0..=span` skewed towards 0 (recent activity is more common than old).
    fn recent(&mut self, span: i64) -> i64 {
        let r = self.unit();
        (r * r * span.max(0) as f64) as i64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items
            .get(self.below(items.len() as u64) as usize)
            .copied()
            .unwrap_or("")
    }
}

const ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// An AWS-looking unique id: `prefix` + `len` base32 characters. The first 7 characters are a
/// bijective scramble of `n` (so ids of one kind never collide), the rest are random.
fn aws_id(prefix: &str, n: u64, len: usize, rng: &mut Rng) -> String {
    const BITS: u32 = 35;
    let mask = (1u64 << BITS) - 1;
    let mut x = n.wrapping_mul(0x2545_F491_4F6C_DD1D) & mask;
    x ^= x >> 17;
    x = x.wrapping_mul(0x1_9E37_79B9) & mask;
    x ^= x >> 13;
    let mut out = String::with_capacity(prefix.len() + len);
    out.push_str(prefix);
    for i in 0..len {
        let v = if i < 7 {
            (x >> (5 * i)) & 31
        } else {
            rng.next_u64() & 31
        };
        out.push(char::from(
            ID_ALPHABET.get(v as usize).copied().unwrap_or(b'A'),
        ));
    }
    out
}

const FIRST: &[&str] = &[
    "alice", "ben", "carlos", "dana", "erin", "farah", "grace", "henry", "ines", "jamal", "kate",
    "liam", "mei", "noah", "olga", "pablo", "quinn", "rosa", "sam", "tariq", "uma", "victor",
    "wendy", "xavier", "yuki", "zoe", "aisha", "bruno", "chloe", "dmitri", "elena", "felix",
    "giulia", "hiro", "ivan", "julia", "kofi", "lena", "marco", "nadia", "omar", "priya", "raj",
    "sofia", "tomas", "ulrich", "vera", "will", "ximena", "yusuf",
];
const LAST: &[&str] = &[
    "nguyen",
    "carter",
    "diaz",
    "smith",
    "chen",
    "khan",
    "kim",
    "ortiz",
    "garcia",
    "johnson",
    "murphy",
    "oconnor",
    "wang",
    "williams",
    "ivanova",
    "lopez",
    "harris",
    "rossi",
    "patel",
    "ali",
    "reyes",
    "huang",
    "clark",
    "moreau",
    "tanaka",
    "adams",
    "okafor",
    "silva",
    "martin",
    "petrov",
    "novak",
    "weber",
    "bianchi",
    "sato",
    "sokolov",
    "santos",
    "mensah",
    "schmidt",
    "russo",
    "haddad",
    "hassan",
    "sharma",
    "gupta",
    "fernandez",
    "novotny",
    "fischer",
    "costa",
    "brown",
    "flores",
    "yilmaz",
];
const TEAMS: &[&str] = &[
    "platform",
    "payments",
    "search",
    "data",
    "mobile",
    "finance",
    "ops",
    "security",
    "sre",
    "marketing",
    "growth",
    "identity",
];
const FIXED_GROUPS: &[&str] = &[
    "admins",
    "developers",
    "readonly",
    "contractors",
    "platform",
    "data",
    "finance",
    "ops",
    "security",
    "support",
];
const SERVICE_WORDS: &[&str] = &[
    "backup", "etl", "export", "import", "deploy", "metrics", "billing", "sftp", "crawler",
    "indexer", "mailer", "reports", "sync", "webhook", "scanner",
];
const REGIONS: &[&str] = &[
    "eu-west-1",
    "us-east-1",
    "us-west-2",
    "eu-central-1",
    "ap-southeast-2",
];
/// Services with service-linked roles: principal prefix and the role-name suffix AWS uses.
const SERVICE_LINKED: &[(&str, &str)] = &[
    ("ecs", "ECS"),
    ("rds", "RDS"),
    ("autoscaling", "AutoScaling"),
    ("elasticloadbalancing", "ElasticLoadBalancing"),
    ("support", "Support"),
    ("trustedadvisor", "TrustedAdvisor"),
];
const KEY_SERVICES: &[&str] = &[
    "s3",
    "sts",
    "ec2",
    "dynamodb",
    "sqs",
    "lambda",
    "ecr",
    "cloudwatch",
    "logs",
    "kms",
];

/// A service, some of its actions, and a resource ARN template (`{r}` region, `{a}` account,
/// `{n}` a name).
struct ServiceShape {
    prefix: &'static str,
    actions: &'static [&'static str],
    resource: &'static str,
}

const SHAPES: &[ServiceShape] = &[
    ServiceShape {
        prefix: "s3",
        actions: &[
            "GetObject",
            "PutObject",
            "ListBucket",
            "DeleteObject",
            "GetBucketLocation",
        ],
        resource: "arn:aws:s3:::acme-{n}/*",
    },
    ServiceShape {
        prefix: "dynamodb",
        actions: &["GetItem", "PutItem", "Query", "UpdateItem", "BatchGetItem"],
        resource: "arn:aws:dynamodb:{r}:{a}:table/{n}",
    },
    ServiceShape {
        prefix: "sqs",
        actions: &[
            "SendMessage",
            "ReceiveMessage",
            "DeleteMessage",
            "GetQueueAttributes",
        ],
        resource: "arn:aws:sqs:{r}:{a}:{n}",
    },
    ServiceShape {
        prefix: "lambda",
        actions: &["InvokeFunction", "GetFunction", "UpdateFunctionCode"],
        resource: "arn:aws:lambda:{r}:{a}:function:{n}",
    },
    ServiceShape {
        prefix: "logs",
        actions: &["CreateLogStream", "PutLogEvents", "FilterLogEvents"],
        resource: "arn:aws:logs:{r}:{a}:log-group:/app/{n}:*",
    },
    ServiceShape {
        prefix: "kms",
        actions: &["Decrypt", "Encrypt", "GenerateDataKey"],
        resource: "arn:aws:kms:{r}:{a}:key/{n}",
    },
    ServiceShape {
        prefix: "secretsmanager",
        actions: &["GetSecretValue", "DescribeSecret"],
        resource: "arn:aws:secretsmanager:{r}:{a}:secret:{n}/*",
    },
    ServiceShape {
        prefix: "sns",
        actions: &["Publish", "Subscribe"],
        resource: "arn:aws:sns:{r}:{a}:{n}",
    },
    ServiceShape {
        prefix: "ec2",
        actions: &[
            "DescribeInstances",
            "DescribeVolumes",
            "DescribeSecurityGroups",
        ],
        resource: "*",
    },
];

fn statement(rng: &mut Rng, sid: usize) -> Value {
    let shape = SHAPES
        .get(rng.below(SHAPES.len() as u64) as usize)
        .unwrap_or(&SHAPES[0]);
    let want = rng.range(1, shape.actions.len().min(4) as i64) as usize;
    let mut actions = BTreeSet::new();
    while actions.len() < want {
        actions.insert(format!("{}:{}", shape.prefix, rng.pick(shape.actions)));
    }
    let name = format!("{}-{}", rng.pick(SERVICE_WORDS), rng.below(100));
    let resource = shape
        .resource
        .replace("{r}", rng.pick(REGIONS))
        .replace("{a}", ACCOUNT_ID)
        .replace("{n}", &name);
    json!({
        "Sid": format!("Stmt{sid}"),
        "Effect": "Allow",
        "Action": actions.into_iter().collect::<Vec<_>>(),
        "Resource": resource,
    })
}

fn document(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// A benign document of 2 to 5 statements.
fn benign_document(rng: &mut Rng) -> Value {
    let n = rng.range(2, 5) as usize;
    document((0..n).map(|i| statement(rng, i)).collect())
}

/// What a customer policy's default version looks like.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PolicyFlavor {
    Benign,
    /// `Action: *` on `Resource: *` among benign statements.
    Admin,
    /// An `Allow` with `NotAction` on `*` that leaves IAM allowed.
    NotActionAdmin,
    /// `s3:*` on `*`: broad, but not admin.
    S3Star,
    /// Admin only under an MFA condition: not admin by default.
    ConditionedAdmin,
    /// Admin cancelled by an unconditioned deny-all: not admin.
    DenyCancelled,
}

fn flavored_document(rng: &mut Rng, flavor: PolicyFlavor) -> Value {
    let n = rng.range(2, 5) as usize;
    let mut stmts: Vec<Value> = (0..n - 1).map(|i| statement(rng, i)).collect();
    let last = n - 1;
    let special = match flavor {
        PolicyFlavor::Benign => statement(rng, last),
        PolicyFlavor::Admin => {
            json!({"Sid": format!("Stmt{last}"), "Effect": "Allow", "Action": "*", "Resource": "*"})
        }
        PolicyFlavor::NotActionAdmin => json!({"Sid": format!("Stmt{last}"), "Effect": "Allow",
            "NotAction": ["aws-portal:*", "budgets:*"], "Resource": "*"}),
        PolicyFlavor::S3Star => {
            json!({"Sid": format!("Stmt{last}"), "Effect": "Allow", "Action": "s3:*", "Resource": "*"})
        }
        PolicyFlavor::ConditionedAdmin => json!({"Sid": format!("Stmt{last}"), "Effect": "Allow",
            "Action": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}),
        PolicyFlavor::DenyCancelled => {
            stmts.push(json!({"Sid": "Legacy", "Effect": "Allow", "Action": "*", "Resource": "*"}));
            json!({"Sid": "Frozen", "Effect": "Deny", "Action": "*", "Resource": "*"})
        }
    };
    stmts.push(special);
    document(stmts)
}

fn aws_managed(
    name: &str,
    path: &str,
    policy_id: &str,
    description: &str,
    version: &str,
    doc: Value,
) -> ManagedPolicy {
    let arn = format!("arn:aws:iam::aws:policy{path}{name}");
    let created = DateTime::from_timestamp(1_423_248_000, 0);
    ManagedPolicy {
        id: arn.clone(),
        arn,
        name: name.to_string(),
        path: path.to_string(),
        policy_id: Some(policy_id.to_string()),
        description: Some(description.to_string()),
        aws_managed: true,
        created_at: created,
        updated_at: created,
        default_version_id: version.to_string(),
        versions: vec![PolicyVersion {
            version_id: version.to_string(),
            is_default: true,
            created_at: created,
            document: doc,
        }],
        ..Default::default()
    }
}

fn aws_managed_policies() -> Vec<ManagedPolicy> {
    vec![
        aws_managed(
            "AdministratorAccess",
            "/",
            "ANPAIWMBCKSKIEE64ZLYK",
            "Provides full access to AWS services and resources.",
            "v1",
            json!({"Version": "2012-10-17",
                   "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        ),
        aws_managed(
            "AmazonS3ReadOnlyAccess",
            "/",
            "ANPAIZTJ4DXE7G6AGAE6M",
            "Provides read only access to all buckets via the AWS Management Console.",
            "v3",
            document(vec![json!({"Effect": "Allow",
                "Action": ["s3:Get*", "s3:List*", "s3:Describe*",
                           "s3-object-lambda:Get*", "s3-object-lambda:List*"],
                "Resource": "*"})]),
        ),
        aws_managed(
            "AmazonEC2ReadOnlyAccess",
            "/",
            "ANPAIGDT4SV4GSETWTBZK",
            "Provides read only access to Amazon EC2 via the AWS Management Console.",
            "v3",
            document(vec![
                json!({"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}),
                json!({"Effect": "Allow", "Action": "elasticloadbalancing:Describe*", "Resource": "*"}),
                json!({"Effect": "Allow", "Action": ["cloudwatch:ListMetrics",
                    "cloudwatch:GetMetricStatistics", "cloudwatch:Describe*"], "Resource": "*"}),
                json!({"Effect": "Allow", "Action": "autoscaling:Describe*", "Resource": "*"}),
            ]),
        ),
        aws_managed(
            "AWSLambdaBasicExecutionRole",
            "/service-role/",
            "ANPAJNCQGXC42545SKXIK",
            "Provides write permissions to CloudWatch Logs.",
            "v1",
            document(vec![json!({"Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*"})]),
        ),
        aws_managed(
            "IAMUserChangePassword",
            "/",
            "ANPAJ4L4MM2A7QIEB56MS",
            "Provides the ability for an IAM user to change their own password.",
            "v2",
            document(vec![
                json!({"Effect": "Allow", "Action": ["iam:ChangePassword"],
                       "Resource": ["arn:aws:iam::*:user/${aws:username}"]}),
                json!({"Effect": "Allow", "Action": ["iam:GetAccountPasswordPolicy"], "Resource": "*"}),
            ]),
        ),
    ]
}

fn customer_policies(rng: &mut Rng, count: usize) -> Vec<ManagedPolicy> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        // Index 1 is always admin, index 2 always a near-miss, so even the smallest pool has both.
        let flavor = match i {
            1 => PolicyFlavor::Admin,
            2 => PolicyFlavor::S3Star,
            _ => {
                let r = rng.unit();
                if r < 0.04 {
                    PolicyFlavor::Admin
                } else if r < 0.05 {
                    PolicyFlavor::NotActionAdmin
                } else if r < 0.06 {
                    PolicyFlavor::ConditionedAdmin
                } else if r < 0.07 {
                    PolicyFlavor::DenyCancelled
                } else if r < 0.09 {
                    PolicyFlavor::S3Star
                } else {
                    PolicyFlavor::Benign
                }
            }
        };
        let name = format!(
            "{}-{}-{i}",
            rng.pick(TEAMS),
            rng.pick(&["access", "read", "write", "deploy", "helpers", "runtime", "ops"])
        );
        let arn = format!("arn:aws:iam::{ACCOUNT_ID}:policy/{name}");
        let n_versions = rng.range(1, 3) as usize;
        let mut age = rng.range(30, 1500) * DAY + rng.range(0, DAY - 1);
        let created = before(age);
        // The default is usually the newest version; sometimes an older one was restored.
        let default_idx = if n_versions > 1 && rng.chance(0.1) {
            rng.below(n_versions as u64 - 1) as usize
        } else {
            n_versions - 1
        };
        let mut versions = Vec::with_capacity(n_versions);
        for v in 0..n_versions {
            if v > 0 {
                age = rng.range(0, age - 1);
            }
            let doc = if v == default_idx {
                flavored_document(rng, flavor)
            } else {
                benign_document(rng)
            };
            versions.push(PolicyVersion {
                version_id: format!("v{}", v + 1),
                is_default: v == default_idx,
                created_at: Some(before(age)),
                document: doc,
            });
        }
        let updated = versions.last().and_then(|v| v.created_at);
        out.push(ManagedPolicy {
            id: arn.clone(),
            arn,
            name,
            path: "/".to_string(),
            policy_id: Some(aws_id("ANPA", i as u64, 17, rng)),
            aws_managed: false,
            created_at: Some(created),
            updated_at: updated,
            default_version_id: format!("v{}", default_idx + 1),
            versions,
            ..Default::default()
        });
    }
    out
}

fn trust_service(service: &str) -> Value {
    document(vec![
        json!({"Effect": "Allow", "Principal": {"Service": service},
                         "Action": "sts:AssumeRole"}),
    ])
}

fn user_arn(path: &str, name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:user{path}{name}")
}

/// Builds a normalized synthetic inventory with `users` users; the same `(users, seed)` always
/// gives the same inventory. See the module documentation for the proportions.
pub fn generate(users: usize, seed: u64) -> Inventory {
    let mut rng = Rng::new(seed);
    let mut inv = Inventory {
        format_version: INVENTORY_FORMAT_VERSION,
        generated_at: Some(base_time()),
        ..Default::default()
    };

    // Policies.
    let aws_policies = aws_managed_policies();
    let customer = customer_policies(&mut rng, (users / 100).max(20));
    let customer_arns: Vec<String> = customer.iter().map(|p| p.arn.clone()).collect();
    let benign_arns: Vec<String> = customer
        .iter()
        .filter(|p| {
            p.versions
                .iter()
                .filter(|v| v.is_default)
                .all(|v| !v.document.to_string().contains("\"*\""))
        })
        .map(|p| p.arn.clone())
        .collect();
    let pick_arn = |rng: &mut Rng, arns: &[String]| -> Option<String> {
        arns.get(rng.below(arns.len() as u64) as usize).cloned()
    };

    // Groups.
    let n_groups = (users / 50).max(10);
    for i in 0..n_groups {
        let name = match FIXED_GROUPS.get(i) {
            Some(n) => n.to_string(),
            None => format!("{}-{}", rng.pick(TEAMS), i),
        };
        let mut attached = Vec::new();
        match name.as_str() {
            "admins" => attached.push(ADMIN_ARN.to_string()),
            "readonly" => {
                attached.push(S3_RO_ARN.to_string());
                attached.push(EC2_RO_ARN.to_string());
            }
            _ => {
                for _ in 0..rng.range(1, 2) {
                    if let Some(a) = pick_arn(&mut rng, &benign_arns) {
                        if !attached.contains(&a) {
                            attached.push(a);
                        }
                    }
                }
            }
        }
        if rng.chance(0.5) {
            attached.push(CHANGE_PW_ARN.to_string());
        }
        inv.groups.push(Group {
            id: aws_id("AGPA", i as u64, 17, &mut rng),
            arn: format!("arn:aws:iam::{ACCOUNT_ID}:group/{name}"),
            name,
            path: "/".to_string(),
            created_at: before(rng.range(400, 2500) * DAY + rng.range(0, DAY - 1)),
            attached_policies: attached,
            ..Default::default()
        });
    }
    let group_names: Vec<String> = inv.groups.iter().map(|g| g.name.clone()).collect();

    // Users and their credentials.
    let mut taken: HashMap<String, u32> = HashMap::new();
    let (mut key_n, mut hw_n) = (0u64, 0u64);
    for i in 0..users {
        let console = rng.chance(0.4);
        let service = !console && rng.chance(0.25);
        let contractor = !service && rng.chance(0.05);
        let stem = if service {
            format!("svc-{}", rng.pick(SERVICE_WORDS))
        } else {
            format!("{}.{}", rng.pick(FIRST), rng.pick(LAST))
        };
        let seen = taken.entry(stem.clone()).or_insert(0);
        *seen += 1;
        let name = if *seen == 1 {
            stem
        } else {
            format!("{stem}{seen}")
        };
        let path = if service {
            "/service/".to_string()
        } else if contractor {
            "/contractors/".to_string()
        } else if rng.chance(0.5) {
            "/".to_string()
        } else {
            format!("/{}/", rng.pick(TEAMS))
        };
        let arn = user_arn(&path, &name);
        let age = rng.range(1, 2500) * DAY + rng.range(0, DAY - 1);
        let created_at = before(age);

        let mut tags = Tags::new();
        if contractor {
            tags.insert("team".into(), "contractors".into());
            tags.insert(
                "vendor".into(),
                rng.pick(&["nimbus-consulting", "blue-harbor"]).into(),
            );
        } else if service {
            tags.insert("owner".into(), rng.pick(TEAMS).into());
        } else if rng.chance(0.6) {
            tags.insert("team".into(), rng.pick(TEAMS).into());
        }
        if rng.chance(0.01) {
            tags.insert("iamwarden:exempt".into(), "true".into());
        }

        let mut user = User {
            id: aws_id("AIDA", i as u64, 17, &mut rng),
            arn: arn.clone(),
            name: name.clone(),
            path,
            created_at,
            tags,
            ..Default::default()
        };

        if console {
            let profile_age = if rng.chance(0.7) {
                age - rng.range(5, 600)
            } else {
                rng.range(0, age)
            };
            let profile_created = before(profile_age);
            user.password_enabled = true;
            user.password_last_changed_at = Some(before(rng.range(0, profile_age)));
            if rng.chance(0.88) {
                user.password_last_used_at = Some(before(rng.recent(profile_age.min(500 * DAY))));
            }
            inv.login_profiles.push(LoginProfile {
                id: name.clone(),
                user: name.clone(),
                user_arn: arn.clone(),
                created_at: profile_created,
                password_reset_required: rng.chance(0.05),
                ..Default::default()
            });
            if rng.chance(0.6) {
                user.mfa_enabled = true;
                let enabled_at = Some(before(rng.range(0, profile_age)));
                let (id, r#virtual) = if rng.chance(0.05) {
                    hw_n += 1;
                    (format!("GAHT{:08}", 10_000_000 + hw_n), false)
                } else {
                    (format!("arn:aws:iam::{ACCOUNT_ID}:mfa/{name}"), true)
                };
                inv.mfa_devices.push(MfaDevice {
                    id,
                    user: Some(name.clone()),
                    r#virtual,
                    enabled_at,
                    ..Default::default()
                });
            }
        }

        // 0, 1 or 2 keys with probabilities 0.2, 0.4, 0.4: mean 1.2.
        let r = rng.unit();
        let n_keys = if r < 0.2 {
            0
        } else if r < 0.6 {
            1
        } else {
            2
        };
        for k in 0..n_keys {
            let key_age = if k == 0 && age <= 800 * DAY && rng.chance(0.1) {
                age - rng.range(3, 120) // created at user setup
            } else {
                rng.range(0, age.min(800 * DAY))
            };
            let (last_used_at, svc, region) = if rng.chance(0.15) {
                (None, None, None)
            } else {
                (
                    Some(before(rng.recent(key_age))),
                    Some(rng.pick(KEY_SERVICES).to_string()),
                    Some(rng.pick(REGIONS).to_string()),
                )
            };
            key_n += 1;
            inv.access_keys.push(AccessKey {
                id: aws_id("AKIA", key_n, 16, &mut rng),
                user: name.clone(),
                user_arn: arn.clone(),
                status: if rng.chance(0.85) {
                    KeyStatus::Active
                } else {
                    KeyStatus::Inactive
                },
                created_at: before(key_age),
                last_used_at,
                last_used_service: svc,
                last_used_region: region,
                ..Default::default()
            });
        }

        // ~1 group per user: 0, 1 or 2 with probabilities 0.15, 0.7, 0.15.
        let r = rng.unit();
        let n_user_groups = if r < 0.15 {
            0
        } else if r < 0.85 {
            1
        } else {
            2
        };
        for _ in 0..n_user_groups {
            let g = if contractor {
                "contractors".to_string()
            } else if rng.chance(0.03) {
                "admins".to_string()
            } else {
                // Skip the admins group (index 0) for ordinary members.
                let idx = 1 + rng.below(group_names.len().saturating_sub(1) as u64) as usize;
                group_names.get(idx).cloned().unwrap_or_default()
            };
            if !g.is_empty() && !user.groups.contains(&g) {
                user.groups.push(g);
            }
        }

        if rng.chance(0.2) {
            for _ in 0..rng.range(1, 2) {
                if let Some(a) = pick_arn(&mut rng, &customer_arns) {
                    if !user.attached_policies.contains(&a) {
                        user.attached_policies.push(a);
                    }
                }
            }
        }
        if rng.chance(0.05) {
            let (pname, doc) = if rng.chance(0.05) {
                (
                    "temp-full-access".to_string(),
                    document(vec![
                        json!({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                    ]),
                )
            } else {
                (
                    format!("{}-inline", rng.pick(SERVICE_WORDS)),
                    document(
                        (0..rng.range(1, 3) as usize)
                            .map(|s| statement(&mut rng, s))
                            .collect(),
                    ),
                )
            };
            inv.inline_policies.push(InlinePolicy {
                id: format!("user/{name}/{pname}"),
                owner_kind: OwnerKind::User,
                owner: name.clone(),
                owner_arn: arn.clone(),
                name: pname.clone(),
                document: doc,
                ..Default::default()
            });
            user.inline_policies.push(pname);
        }
        inv.users.push(user);
    }

    // Roles.
    for i in 0..users / 10 {
        let r = rng.unit();
        let (name, path, trust) = if r < 0.04 {
            let (svc, role) = SERVICE_LINKED
                .get(rng.below(SERVICE_LINKED.len() as u64) as usize)
                .copied()
                .unwrap_or(("ecs", "ECS"));
            (
                format!("AWSServiceRoleFor{role}_{i}"),
                format!("/aws-service-role/{svc}.amazonaws.com/"),
                trust_service(&format!("{svc}.amazonaws.com")),
            )
        } else if r < 0.05 {
            (
                format!("partner-exchange-{i}"),
                "/".to_string(),
                document(vec![json!({"Effect": "Allow", "Principal": {"AWS": "*"},
                                     "Action": "sts:AssumeRole"})]),
            )
        } else if r < 0.20 {
            (
                format!("vendor-{}-{i}", rng.pick(SERVICE_WORDS)),
                "/".to_string(),
                document(vec![json!({"Effect": "Allow",
                    "Principal": {"AWS": format!("arn:aws:iam::{}:root", 100_000_000_000 + rng.below(899_999_999_999))},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": format!("ext-{:08x}", rng.next_u64() as u32)}}})]),
            )
        } else if r < 0.30 {
            (
                format!("ci-{}-{i}", rng.pick(TEAMS)),
                "/".to_string(),
                document(vec![json!({"Effect": "Allow",
                    "Principal": {"Federated": format!("arn:aws:iam::{ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com")},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": format!("repo:acme/{}:*", rng.pick(SERVICE_WORDS))}}})]),
            )
        } else if r < 0.40 {
            (
                format!("{}-operator-{i}", rng.pick(TEAMS)),
                "/".to_string(),
                document(vec![json!({"Effect": "Allow",
                    "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT_ID}:root")},
                    "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})]),
            )
        } else {
            let svc = rng.pick(&["lambda", "ecs-tasks", "ec2", "glue", "states", "events"]);
            (
                format!("{svc}-{}-{i}", rng.pick(SERVICE_WORDS)),
                "/".to_string(),
                trust_service(&format!("{svc}.amazonaws.com")),
            )
        };
        let service_linked = path.starts_with("/aws-service-role/");
        let mut attached = Vec::new();
        if name.starts_with("lambda-") {
            attached.push(LAMBDA_BASIC_ARN.to_string());
        }
        if !service_linked {
            for _ in 0..rng.range(0, 2) {
                if let Some(a) = pick_arn(&mut rng, &customer_arns) {
                    if !attached.contains(&a) {
                        attached.push(a);
                    }
                }
            }
            if rng.chance(0.01) {
                attached.push(ADMIN_ARN.to_string());
            }
        }
        let arn = format!("arn:aws:iam::{ACCOUNT_ID}:role{path}{name}");
        let mut inline = Vec::new();
        if !service_linked && rng.chance(0.1) {
            let pname = format!("{}-inline", rng.pick(SERVICE_WORDS));
            let doc = if rng.chance(0.05) {
                document(vec![
                    json!({"Effect": "Allow", "Action": ["*"], "Resource": ["*"]}),
                ])
            } else {
                document(
                    (0..rng.range(1, 3) as usize)
                        .map(|s| statement(&mut rng, s))
                        .collect(),
                )
            };
            inv.inline_policies.push(InlinePolicy {
                id: format!("role/{name}/{pname}"),
                owner_kind: OwnerKind::Role,
                owner: name.clone(),
                owner_arn: arn.clone(),
                name: pname.clone(),
                document: doc,
                ..Default::default()
            });
            inline.push(pname);
        }
        let age = rng.range(1, 2000) * DAY + rng.range(0, DAY - 1);
        let (last_used_at, last_used_region) = if rng.chance(0.2) {
            (None, None)
        } else {
            (
                Some(before(rng.recent(age.min(400 * DAY)))),
                Some(rng.pick(REGIONS).to_string()),
            )
        };
        let mut tags = Tags::new();
        if !service_linked {
            tags.insert("owner".into(), rng.pick(TEAMS).into());
        }
        inv.roles.push(Role {
            id: aws_id("AROA", i as u64, 17, &mut rng),
            arn,
            name,
            path,
            created_at: before(age),
            trust_policy: trust,
            last_used_at,
            last_used_region,
            attached_policies: attached,
            inline_policies: inline,
            tags,
            ..Default::default()
        });
    }

    // Managed policies: every customer policy, and the AWS-managed ones something references.
    let referenced: BTreeSet<&str> = inv
        .users
        .iter()
        .map(|u| &u.attached_policies)
        .chain(inv.groups.iter().map(|g| &g.attached_policies))
        .chain(inv.roles.iter().map(|r| &r.attached_policies))
        .flatten()
        .map(String::as_str)
        .collect();
    let aws_used: Vec<ManagedPolicy> = aws_policies
        .into_iter()
        .filter(|p| referenced.contains(p.arn.as_str()))
        .collect();
    inv.managed_policies = customer;
    inv.managed_policies.extend(aws_used);

    // The account.
    let strong = rng.chance(0.5);
    inv.account = Account {
        id: ACCOUNT_ID.to_string(),
        arn: format!("arn:aws:iam::{ACCOUNT_ID}:root"),
        alias: Some(format!("synthetic-{seed}")),
        password_policy: Some(PasswordPolicy {
            minimum_password_length: Some(if strong { 14 } else { 8 }),
            require_symbols: strong,
            require_numbers: true,
            require_uppercase_characters: true,
            require_lowercase_characters: true,
            allow_users_to_change_password: true,
            max_password_age: strong.then_some(90),
            password_reuse_prevention: strong.then_some(24),
            hard_expiry: false,
        }),
        root: RootUser {
            mfa_enabled: rng.chance(0.7),
            access_keys_present: rng.chance(0.2),
            password_last_used_at: Some(before(rng.recent(300 * DAY))),
            access_key_last_used_at: None,
        },
        summary: BTreeMap::from([
            ("Users".to_string(), inv.users.len() as i64),
            ("Groups".to_string(), inv.groups.len() as i64),
            ("Roles".to_string(), inv.roles.len() as i64),
            (
                "Policies".to_string(),
                inv.managed_policies
                    .iter()
                    .filter(|p| !p.aws_managed)
                    .count() as i64,
            ),
            ("MFADevices".to_string(), inv.mfa_devices.len() as i64),
            ("AccessKeysPerUserQuota".to_string(), 2),
        ]),
    };
    if inv.account.root.access_keys_present {
        inv.account.root.access_key_last_used_at = Some(before(rng.recent(400 * DAY)));
    }
    inv.account.summary.insert(
        "AccountMFAEnabled".to_string(),
        i64::from(inv.account.root.mfa_enabled),
    );
    inv.account.summary.insert(
        "AccountAccessKeysPresent".to_string(),
        i64::from(inv.account.root.access_keys_present),
    );

    inv.normalize();
    inv
}

#[cfg(test)]
mod tests {
    use super::*;
    use iamwarden_core::inventory::snapshot;
    use std::collections::HashSet;
    use std::path::Path;
    use std::time::Instant;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn deterministic_for_a_seed() {
        let a = generate(300, 42);
        let b = generate(300, 42);
        assert!(a == b, "same seed, different inventories");
        let c = generate(300, 43);
        assert!(a != c, "different seeds, same inventory");
    }

    #[test]
    fn ids_and_references_are_consistent() {
        let inv = generate(2_000, 7);
        let users: HashSet<&str> = inv.users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(users.len(), inv.users.len(), "user names are unique");
        let ids: HashSet<&str> = inv.users.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids.len(), inv.users.len(), "user ids are unique");
        let keys: HashSet<&str> = inv.access_keys.iter().map(|k| k.id.as_str()).collect();
        assert_eq!(keys.len(), inv.access_keys.len(), "key ids are unique");
        assert!(inv
            .access_keys
            .iter()
            .all(|k| k.id.len() == 20 && k.id.starts_with("AKIA")));
        assert!(inv
            .access_keys
            .iter()
            .all(|k| users.contains(k.user.as_str())));
        let groups: HashSet<&str> = inv.groups.iter().map(|g| g.name.as_str()).collect();
        assert!(inv
            .users
            .iter()
            .all(|u| u.groups.iter().all(|g| groups.contains(g.as_str()))));
        let policies: HashSet<&str> = inv
            .managed_policies
            .iter()
            .map(|p| p.arn.as_str())
            .collect();
        let attached = inv
            .users
            .iter()
            .map(|u| &u.attached_policies)
            .chain(inv.groups.iter().map(|g| &g.attached_policies))
            .chain(inv.roles.iter().map(|r| &r.attached_policies))
            .flatten();
        for a in attached {
            assert!(
                policies.contains(a.as_str()),
                "{a} is attached but not in the inventory"
            );
        }
        let base = base_time();
        for k in &inv.access_keys {
            assert!(k.created_at <= base && k.last_used_at.is_none_or(|t| t <= base));
            assert!(
                k.seconds_after_user_created.is_some_and(|s| s >= 0),
                "{}",
                k.id
            );
            assert!(k.last_used_at.is_none_or(|t| t >= k.created_at), "{}", k.id);
            let age = (base - k.created_at).num_days();
            assert!((0..=800).contains(&age), "key age {age}");
        }
        // Every flavor the pool promises: some admin policies, some near-misses.
        assert!(inv
            .managed_policies
            .iter()
            .any(|p| !p.aws_managed && p.admin_access));
        assert!(inv
            .managed_policies
            .iter()
            .any(|p| !p.aws_managed && !p.admin_access));
        assert!(inv.roles.iter().any(|r| r.service_linked));
    }

    #[test]
    fn proportions_within_tolerance() {
        let n = 10_000;
        let inv = generate(n, 1);
        let nf = n as f64;
        let within = |what: &str, got: f64, lo: f64, hi: f64| {
            assert!((lo..=hi).contains(&got), "{what}: {got} not in {lo}..={hi}");
        };
        assert_eq!(inv.users.len(), n);
        let console = inv.users.iter().filter(|u| u.password_enabled).count();
        within("console share", console as f64 / nf, 0.37, 0.43);
        assert_eq!(inv.login_profiles.len(), console);
        let mfa = inv
            .users
            .iter()
            .filter(|u| u.password_enabled && u.mfa_enabled)
            .count();
        within(
            "MFA share of console users",
            mfa as f64 / console as f64,
            0.56,
            0.64,
        );
        within(
            "keys per user",
            inv.access_keys.len() as f64 / nf,
            1.15,
            1.25,
        );
        let memberships: usize = inv.users.iter().map(|u| u.groups.len()).sum();
        within("groups per user", memberships as f64 / nf, 0.9, 1.1);
        assert_eq!(inv.groups.len(), (n / 50).max(10));
        let attached = inv
            .users
            .iter()
            .filter(|u| !u.attached_policies.is_empty())
            .count();
        within(
            "users with attached policies",
            attached as f64 / nf,
            0.17,
            0.23,
        );
        let inline = inv
            .users
            .iter()
            .filter(|u| !u.inline_policies.is_empty())
            .count();
        within(
            "users with inline policies",
            inline as f64 / nf,
            0.035,
            0.065,
        );
        assert_eq!(inv.roles.len(), n / 10);
        assert!(inv.account.password_policy.is_some());
        let customer: Vec<_> = inv
            .managed_policies
            .iter()
            .filter(|p| !p.aws_managed)
            .collect();
        assert_eq!(customer.len(), (n / 100).max(20));
        for p in &customer {
            assert!((1..=3).contains(&p.versions.len()), "{}", p.name);
            assert_eq!(p.versions.iter().filter(|v| v.is_default).count(), 1);
            let stmts = p
                .default_document
                .get("Statement")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            assert!((2..=6).contains(&stmts), "{}: {stmts} statements", p.name);
        }
        let admin = customer.iter().filter(|p| p.admin_access).count();
        within(
            "admin customer policies",
            admin as f64 / customer.len() as f64,
            0.01,
            0.15,
        );
        // Small inventories still have the minimum pools.
        let small = generate(10, 3);
        assert_eq!(small.groups.len(), 10);
        assert_eq!(small.roles.len(), 1);
        assert_eq!(
            small
                .managed_policies
                .iter()
                .filter(|p| !p.aws_managed)
                .count(),
            20
        );
        assert!(generate(0, 0).users.is_empty());
    }

    #[test]
    fn a_thousand_users_is_fast() {
        let start = Instant::now();
        let inv = generate(1_000, 9);
        let took = start.elapsed();
        assert_eq!(inv.users.len(), 1_000);
        assert!(took.as_millis() < 1_000, "1,000 users took {took:?}");
    }

    #[test]
    fn json_round_trip_is_identity() -> TestResult {
        let inv = generate(500, 11);
        let bytes = serde_json::to_vec(&inv)?;
        let back = snapshot::parse(&bytes, "synthetic.json")?;
        assert!(
            back == inv,
            "a synthetic inventory changes when saved and loaded"
        );
        Ok(())
    }

    // ---------------------------------------------------------------- the demo account

    fn demo() -> Result<Inventory, snapshot::SnapshotError> {
        snapshot::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/demo-account.json"
        )))
    }

    /// The clock the demo account is evaluated at (`--now 2026-11-01T00:00:00Z`).
    fn days_before_now(t: DateTime<Utc>) -> i64 {
        (base_time() - t).num_days()
    }

    fn exempt(tags: &Tags) -> bool {
        tags.get("iamwarden:exempt").map(String::as_str) == Some("true")
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    fn users_of(inv: &Inventory, f: impl Fn(&User) -> bool) -> Vec<String> {
        sorted(
            inv.users
                .iter()
                .filter(|u| !exempt(&u.tags) && f(u))
                .map(|u| u.name.clone())
                .collect(),
        )
    }

    /// Owner names of the (non-exempt) access keys matching `f`.
    fn keys_of(inv: &Inventory, f: impl Fn(&AccessKey) -> bool) -> Vec<String> {
        sorted(
            inv.access_keys
                .iter()
                .filter(|k| !exempt(&k.user_tags) && f(k))
                .map(|k| k.user.clone())
                .collect(),
        )
    }

    fn names(v: &[&str]) -> Vec<String> {
        sorted(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn demo_account_loads_with_expected_derived_facts() -> TestResult {
        let inv = demo()?;
        assert_eq!(inv.account.id, "123456789012");
        assert_eq!(inv.account.alias.as_deref(), Some("acme-prod"));
        assert!(
            (30..=40).contains(&inv.users.len()),
            "{} users",
            inv.users.len()
        );
        assert!(inv.account.root.access_keys_present && !inv.account.root.mfa_enabled);

        // The stale/fresh trap: exactly one newest active key, and it is the fresh one.
        let grace: Vec<&AccessKey> = inv
            .access_keys
            .iter()
            .filter(|k| k.user == "grace.kim")
            .collect();
        assert_eq!(grace.len(), 2);
        let newest: Vec<&&AccessKey> = grace
            .iter()
            .filter(|k| k.newest_active_key_of_user)
            .collect();
        assert_eq!(newest.len(), 1);
        assert!(newest
            .first()
            .and_then(|k| k.last_used_at)
            .is_some_and(|t| days_before_now(t) <= 2));
        assert!(grace.iter().all(|k| k.user_active_key_count == 2));

        let policy = |name: &str| inv.managed_policies.iter().find(|p| p.name == name);
        let admin = |name: &str| policy(name).map(|p| p.admin_access);
        assert_eq!(admin("AdministratorAccess"), Some(true));
        assert_eq!(
            admin("s3-read-helpers"),
            Some(true),
            "innocent name, admin document"
        );
        assert_eq!(admin("legacy-ops-frozen"), Some(false), "deny-all cancels");
        assert_eq!(admin("mfa-gated-admin"), Some(false), "conditioned");
        assert_eq!(admin("s3-full-access"), Some(false), "s3:* is not admin");
        assert_eq!(
            admin("legacy-everything-but-billing"),
            Some(true),
            "NotAction admin"
        );
        assert_eq!(
            admin("ops-admin-safe"),
            Some(true),
            "a narrow deny does not cancel"
        );
        assert_eq!(admin("data-lake-full"), Some(false), "* on one bucket");
        assert_eq!(admin("PowerUserAccess"), Some(false), "NotAction iam:*");
        assert_eq!(admin("platform-deployer"), Some(true));
        let pd = policy("platform-deployer").ok_or("platform-deployer missing")?;
        assert_eq!(pd.default_version_id, "v3");
        for v in pd.versions.iter().filter(|v| !v.is_default) {
            let d = iamwarden_core::policy::Document::parse(&v.document)?;
            assert!(!d.admin_access(true), "{} is benign", v.version_id);
        }

        let inline = |id: &str| {
            inv.inline_policies
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.admin_access)
        };
        assert_eq!(inline("user/uma.reyes/temp-full-access"), Some(true));
        assert_eq!(inline("role/legacy-jenkins/jenkins-god-mode"), Some(true));
        assert_eq!(inline("user/uma.reyes/athena-query-results"), Some(false));
        assert_eq!(
            inline("user/ben.carter/office-ip-admin"),
            Some(false),
            "conditioned"
        );
        assert_eq!(inline("user/yusuf.ali/iamwarden-quarantine"), Some(false));
        assert_eq!(inline("group/developers/dev-sandbox-access"), Some(false));

        let henry = inv
            .access_keys
            .iter()
            .find(|k| k.user == "henry.ortiz")
            .ok_or("henry's key missing")?;
        assert_eq!(henry.seconds_after_user_created, Some(47));
        assert!(henry.user_password_enabled && henry.last_used_at.is_none());

        let role = |name: &str| inv.roles.iter().find(|r| r.name == name);
        assert!(role("AWSServiceRoleForSupport").is_some_and(|r| r.service_linked));
        assert!(role("partner-data-exchange")
            .is_some_and(
                |r| r.trust_policy.pointer("/Statement/0/Principal/AWS") == Some(&json!("*"))
            ));
        let admins = inv
            .groups
            .iter()
            .find(|g| g.name == "admins")
            .ok_or("no admins")?;
        assert_eq!(admins.admin_attached_policies, vec![ADMIN_ARN.to_string()]);
        assert!(inv
            .users
            .iter()
            .all(|u| u.password_enabled == inv.login_profiles.iter().any(|l| l.user == u.name)));
        Ok(())
    }

    /// The cases `examples/README.md` lists, checked with the built-in rules' intended semantics
    /// at `2026-11-01T00:00:00Z` (exempt users left out), so the table cannot drift from the data.
    #[test]
    fn demo_account_cases_match_the_readme() -> TestResult {
        let inv = demo()?;
        let active = |k: &AccessKey| k.status == KeyStatus::Active;

        let unused = keys_of(&inv, |k| {
            active(k) && days_before_now(k.last_used_at.unwrap_or(k.created_at)) >= 90
        });
        assert_eq!(
            unused,
            names(&[
                "dave.wilson",
                "grace.kim",
                "henry.ortiz",
                "olivia.brown",
                "quinn.harris",
                "svc-legacy-backup"
            ])
        );
        let unrotated = keys_of(&inv, |k| active(k) && days_before_now(k.created_at) >= 90);
        assert_eq!(
            unrotated,
            names(&[
                "alice.nguyen",
                "carlos.diaz",
                "dave.wilson",
                "grace.kim",
                "henry.ortiz",
                "ivan.petrov",
                "olivia.brown",
                "quinn.harris",
                "svc-datadog",
                "svc-legacy-backup",
                "svc-terraform",
                "zoe.adams"
            ])
        );
        let older_of_two = keys_of(&inv, |k| {
            active(k) && k.user_active_key_count >= 2 && !k.newest_active_key_of_user
        });
        assert_eq!(
            older_of_two,
            names(&["carlos.diaz", "grace.kim", "svc-terraform"])
        );
        let setup = keys_of(&inv, |k| {
            active(k)
                && k.user_password_enabled
                && k.last_used_at.is_none()
                && k.seconds_after_user_created
                    .is_some_and(|s| (0..=120).contains(&s))
        });
        assert_eq!(setup, names(&["henry.ortiz"]));

        let no_mfa = users_of(&inv, |u| u.password_enabled && !u.mfa_enabled);
        assert_eq!(
            no_mfa,
            names(&[
                "contractor.jmorales",
                "contractor.lwei",
                "dave.wilson",
                "liam.oconnor",
                "noah.williams",
                "pat.lee"
            ])
        );
        let pw_unused = sorted(
            inv.login_profiles
                .iter()
                .filter(|l| !exempt(&l.user_tags))
                .filter(|l| days_before_now(l.password_last_used_at.unwrap_or(l.created_at)) >= 90)
                .map(|l| l.user.clone())
                .collect(),
        );
        assert_eq!(
            pw_unused,
            names(&[
                "kate.murphy",
                "liam.oconnor",
                "olivia.brown",
                "peter.schmidt"
            ])
        );
        let inactive = users_of(&inv, |u| {
            days_before_now(u.last_activity_at.unwrap_or(u.created_at)) >= 180
        });
        assert_eq!(
            inactive,
            names(&[
                "liam.oconnor",
                "olivia.brown",
                "svc-legacy-backup",
                "svc-metrics-legacy"
            ])
        );
        let direct = users_of(&inv, |u| !u.attached_policies.is_empty());
        assert_eq!(
            direct,
            names(&[
                "mia.johnson",
                "sam.patel",
                "svc-datadog",
                "svc-github-actions",
                "svc-legacy-backup",
                "tom.baker",
                "victor.huang",
                "wendy.clark",
                "xavier.moreau"
            ])
        );
        let admin_users = users_of(&inv, |u| !u.admin_attached_policies.is_empty());
        assert_eq!(
            admin_users,
            names(&["sam.patel", "tom.baker", "xavier.moreau"])
        );
        let admin_inline_users = users_of(&inv, |u| !u.admin_inline_policies.is_empty());
        assert_eq!(admin_inline_users, names(&["uma.reyes"]));
        let admin_groups: Vec<String> = sorted(
            inv.groups
                .iter()
                .filter(|g| !g.admin_attached_policies.is_empty())
                .map(|g| g.name.clone())
                .collect(),
        );
        assert_eq!(admin_groups, names(&["admins", "platform"]));
        let admin_roles: Vec<String> = sorted(
            inv.roles
                .iter()
                .filter(|r| {
                    !r.admin_attached_policies.is_empty() || !r.admin_inline_policies.is_empty()
                })
                .map(|r| r.name.clone())
                .collect(),
        );
        assert_eq!(
            admin_roles,
            names(&[
                "OrganizationAccountAccessRole",
                "legacy-jenkins",
                "terraform-apply"
            ])
        );
        let admin_customer: Vec<String> = sorted(
            inv.managed_policies
                .iter()
                .filter(|p| !p.aws_managed && p.admin_access)
                .map(|p| p.name.clone())
                .collect(),
        );
        assert_eq!(
            admin_customer,
            names(&[
                "acme-admin",
                "legacy-everything-but-billing",
                "ops-admin-safe",
                "platform-deployer",
                "s3-read-helpers"
            ])
        );
        // Exempt users would match several rules.
        let bg = inv
            .users
            .iter()
            .find(|u| u.name == "break-glass-admin")
            .ok_or("no break-glass-admin")?;
        assert!(exempt(&bg.tags) && bg.path == "/emergency/");
        assert!(!bg.admin_attached_policies.is_empty());
        assert!(bg
            .last_activity_at
            .is_some_and(|t| days_before_now(t) >= 180));
        Ok(())
    }
}
