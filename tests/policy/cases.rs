//! Policy-document semantics, table-driven: every legal shape, `allows`, `admin_access`, and
//! every analysis check (service wildcards, PassRole on any resource, NotAction/NotResource
//! allows, privilege escalation, unknown actions with "did you mean", invalid ARNs, access
//! levels, trust policies open to any principal), with the traps: mixed-case prefixes, `?`,
//! `[x]` being literal, Deny cancelling Allow, and conditioned statements.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iamwarden_core::policy::analysis::PolicyCheck;
use iamwarden_core::policy::catalog::AccessLevel;
use iamwarden_core::policy::Document;
use serde_json::{json, Value};

enum Q {
    /// allows(action, resource, include_conditioned) == expected
    Allows(&'static str, &'static str, bool, bool),
    /// admin_access(include_conditioned) == expected
    Admin(bool, bool),
    /// check(include_conditioned) gives exactly these witnesses
    Check(PolicyCheck, bool, &'static [&'static str]),
    /// check(include_conditioned) holds, and its witnesses include these
    Holds(PolicyCheck, bool, &'static [&'static str]),
    /// the document does not parse; the error contains this
    ParseError(&'static str),
}

fn allow(action: Value, resource: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
}

fn stmts(s: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": s})
}

fn cases() -> Vec<(&'static str, Value, Q)> {
    use PolicyCheck as P;
    use Q::*;
    let conditioned = |action: &str| {
        stmts(
            json!([{"Effect": "Allow", "Action": action, "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]),
        )
    };
    vec![
        // --- shapes and allows ---
        ("exact action", allow(json!("s3:GetObject"), json!("*")), Allows("s3:GetObject", "arn:aws:s3:::b/k", false, true)),
        ("other action", allow(json!("s3:GetObject"), json!("*")), Allows("s3:PutObject", "*", false, false)),
        ("action names are case-insensitive", allow(json!("IAM:passrole"), json!("*")), Allows("iam:PassRole", "*", false, true)),
        ("mixed-case service wildcard", allow(json!("IAM:*"), json!("*")), Allows("iam:CreateUser", "*", false, true)),
        ("? matches one character", allow(json!("iam:?assRole"), json!("*")), Allows("iam:PassRole", "*", false, true)),
        ("? does not match two", allow(json!("iam:?ssRole"), json!("*")), Allows("iam:PassRole", "*", false, false)),
        ("[x] is not a class", allow(json!("iam:[P]assRole"), json!("*")), Allows("iam:PassRole", "*", false, false)),
        ("[x] matches itself", allow(json!("iam:[P]assRole"), json!("*")), Allows("iam:[P]assRole", "*", false, true)),
        ("* is every action", allow(json!("*"), json!("*")), Allows("ec2:RunInstances", "*", false, true)),
        ("*:* is every action", allow(json!("*:*"), json!("*")), Allows("kms:Decrypt", "*", false, true)),
        ("Statement as an object", json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}), Allows("s3:GetObject", "*", false, true)),
        ("Action as a list", allow(json!(["s3:GetObject", "s3:ListBucket"]), json!("*")), Allows("s3:ListBucket", "*", false, true)),
        ("Resource as a list", allow(json!("s3:GetObject"), json!(["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"])), Allows("s3:GetObject", "arn:aws:s3:::b/k", false, true)),
        ("resource wildcard", allow(json!("s3:GetObject"), json!("arn:aws:s3:::reports/*")), Allows("s3:GetObject", "arn:aws:s3:::other/k", false, false)),
        ("resources are case-sensitive", allow(json!("s3:GetObject"), json!("arn:aws:s3:::Reports/*")), Allows("s3:GetObject", "arn:aws:s3:::reports/k", false, false)),
        ("NotAction allows the rest", stmts(json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}])), Allows("s3:DeleteBucket", "*", false, true)),
        ("NotAction excludes what it lists", stmts(json!([{"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}])), Allows("IAM:PassRole", "*", false, false)),
        ("NotResource allows other resources", stmts(json!([{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}])), Allows("s3:GetObject", "arn:aws:s3:::public/k", false, true)),
        ("NotResource excludes what it lists", stmts(json!([{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}])), Allows("s3:GetObject", "arn:aws:s3:::secret/k", false, false)),
        ("Deny cancels Allow", stmts(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}])), Allows("iam:PassRole", "*", false, false)),
        ("Deny elsewhere leaves the Allow", stmts(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}])), Allows("iam:CreateUser", "*", false, true)),
        ("a conditioned Deny does not cancel", stmts(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}])), Allows("s3:GetObject", "*", false, true)),
        ("a conditioned Allow does not count by default", conditioned("s3:GetObject"), Allows("s3:GetObject", "*", false, false)),
        ("a conditioned Allow counts when asked", conditioned("s3:GetObject"), Allows("s3:GetObject", "*", true, true)),
        ("URL-encoded document", Value::String("%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D".into()), Allows("s3:GetObject", "*", false, true)),
        ("raw JSON text with newlines", Value::String("{\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"*\"}\n  ]\n}".into()), Allows("s3:GetObject", "*", false, true)),
        ("Effect must be Allow or Deny", stmts(json!([{"Effect": "allow", "Action": "*", "Resource": "*"}])), ParseError("Effect must be")),
        ("Action and NotAction together", stmts(json!([{"Effect": "Allow", "Action": "*", "NotAction": "iam:*", "Resource": "*"}])), ParseError("both Action and NotAction")),
        ("Action entries must be strings", stmts(json!([{"Effect": "Allow", "Action": [1], "Resource": "*"}])), ParseError("must be strings")),
        // --- admin_access ---
        ("* on * is admin", allow(json!("*"), json!("*")), Admin(false, true)),
        ("*:* on * is admin", allow(json!("*:*"), json!("*")), Admin(false, true)),
        ("NotAction leaving IAM is admin", stmts(json!([{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}])), Admin(false, true)),
        ("NotAction excluding IAM is not admin", stmts(json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}])), Admin(false, false)),
        ("* on one bucket is not admin", allow(json!("*"), json!("arn:aws:s3:::b/*")), Admin(false, false)),
        ("Deny * cancels admin", stmts(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "*", "Resource": "*"}])), Admin(false, false)),
        ("conditioned admin is not admin by default", conditioned("*"), Admin(false, false)),
        ("conditioned admin counts when asked", conditioned("*"), Admin(true, true)),
        ("* with NotResource is admin", stmts(json!([{"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::x"}])), Admin(false, true)),
        // --- service wildcards ---
        ("s3:* is a service wildcard", allow(json!(["s3:*", "ec2:Describe*"]), json!("*")), Check(P::ServiceWildcards(None), false, &["s3:*"])),
        ("IAM:* is reported lower-case", allow(json!("IAM:*"), json!("*")), Check(P::ServiceWildcards(None), false, &["iam:*"])),
        ("s3:Get* is not a service wildcard", allow(json!("s3:Get*"), json!("*")), Check(P::ServiceWildcards(None), false, &[])),
        ("only the listed services", allow(json!(["s3:*", "kms:*"]), json!("*")), Check(P::ServiceWildcards(Some(vec!["iam".into(), "kms".into()])), false, &["kms:*"])),
        ("a Deny of the service cancels it", stmts(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}])), Check(P::ServiceWildcards(None), false, &[])),
        // --- PassRole on any resource ---
        ("PassRole on *", allow(json!("iam:PassRole"), json!("*")), Check(P::PassroleOnAnyResource, false, &["iam:PassRole on *"])),
        ("PassRole on named roles", allow(json!("iam:PassRole"), json!("arn:aws:iam::123456789012:role/app-*")), Check(P::PassroleOnAnyResource, false, &[])),
        ("iam:Pass* on *", allow(json!("iam:Pass*"), json!("*")), Check(P::PassroleOnAnyResource, false, &["iam:PassRole on *"])),
        ("PassRole with a NotResource excluding a role is not every role", stmts(json!([{"Effect": "Allow", "Action": "iam:PassRole", "NotResource": "arn:aws:iam::123456789012:role/admin"}])), Check(P::PassroleOnAnyResource, false, &[])),
        ("PassRole with a NotResource excluding no role", stmts(json!([{"Effect": "Allow", "Action": "iam:PassRole", "NotResource": "arn:aws:s3:::x"}])), Check(P::PassroleOnAnyResource, false, &["iam:PassRole on NotResource arn:aws:s3:::x"])),
        ("PassRole on * denied", stmts(json!([{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}])), Check(P::PassroleOnAnyResource, false, &[])),
        // --- NotAction / NotResource allows ---
        ("NotAction with Allow", stmts(json!([{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}])), Check(P::NotActionAllow, false, &["Allow NotAction iam:*, organizations:* on *"])),
        ("NotAction with Deny is fine", stmts(json!([{"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}])), Check(P::NotActionAllow, false, &[])),
        ("NotResource with Allow", stmts(json!([{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"}])), Check(P::NotResourceAllow, false, &["Allow s3:* on NotResource arn:aws:s3:::secret/*"])),
        // --- privilege escalation ---
        ("CreatePolicyVersion alone escalates", allow(json!("iam:CreatePolicyVersion"), json!("arn:aws:iam::123456789012:policy/*")), Check(P::PrivilegeEscalation(None), false, &["create-policy-version"])),
        ("PassRole and RunInstances escalate together", allow(json!(["iam:PassRole", "ec2:RunInstances"]), json!("*")), Check(P::PrivilegeEscalation(None), false, &["passrole-ec2"])),
        ("PassRole alone does not", allow(json!("iam:PassRole"), json!("*")), Check(P::PrivilegeEscalation(None), false, &[])),
        ("PassRole, CreateFunction and InvokeFunction", allow(json!(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"]), json!("*")), Check(P::PrivilegeEscalation(None), false, &["passrole-lambda-invoke"])),
        ("a Deny of PassRole stops the pair", stmts(json!([{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}, {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}])), Check(P::PrivilegeEscalation(None), false, &[])),
        ("iam:* enables many methods", allow(json!("iam:*"), json!("*")), Holds(P::PrivilegeEscalation(None), false, &["create-policy-version", "attach-user-policy", "put-role-policy", "add-user-to-group"])),
        ("a conditioned escalation does not count by default", conditioned("iam:AttachUserPolicy"), Check(P::PrivilegeEscalation(None), false, &[])),
        ("a conditioned escalation counts when asked", conditioned("iam:AttachUserPolicy"), Check(P::PrivilegeEscalation(None), true, &["attach-user-policy (conditioned: aws:MultiFactorAuthPresent)"])),
        ("only the listed methods", allow(json!(["iam:CreateAccessKey", "iam:AttachUserPolicy"]), json!("*")), Check(P::PrivilegeEscalation(Some(vec!["create-access-key".into()])), false, &["create-access-key"])),
        // --- unknown actions ---
        ("a typo with did you mean", allow(json!(["s3:GetObjcet", "s3:ListBucket"]), json!("*")), Check(P::UnknownActions, false, &["s3:GetObjcet (did you mean s3:GetObject?)"])),
        ("a wrong service prefix", allow(json!("s4:GetObject"), json!("*")), Check(P::UnknownActions, false, &["s4:GetObject (did you mean s3:GetObject?)"])),
        ("known wildcards are fine", allow(json!(["s3:Get*", "ec2:Describe*", "*"]), json!("*")), Check(P::UnknownActions, false, &[])),
        ("a wildcard matching nothing", allow(json!("s3:Zzz*"), json!("*")), Check(P::UnknownActions, false, &["s3:Zzz*"])),
        ("case does not make an action unknown", allow(json!("IAM:PASSROLE"), json!("*")), Check(P::UnknownActions, false, &[])),
        ("typos in NotAction count too", stmts(json!([{"Effect": "Deny", "NotAction": "iam:PasRole", "Resource": "*"}])), Check(P::UnknownActions, false, &["iam:PasRole (did you mean iam:PassRole?)"])),
        // --- invalid ARNs ---
        ("a valid S3 ARN", allow(json!("s3:GetObject"), json!("arn:aws:s3:::reports/*")), Check(P::InvalidArns, false, &[])),
        ("too few parts", allow(json!("s3:GetObject"), json!("arn:aws:s3:reports")), Check(P::InvalidArns, false, &["arn:aws:s3:reports (an ARN has six colon-separated parts)"])),
        ("a short account", allow(json!("iam:PassRole"), json!("arn:aws:iam::12345:role/x")), Check(P::InvalidArns, false, &["arn:aws:iam::12345:role/x (malformed account `12345` (12 digits))"])),
        ("an unknown service", allow(json!("s3:GetObject"), json!("arn:aws:s4:::reports/*")), Check(P::InvalidArns, false, &["arn:aws:s4:::reports/* (unknown service `s4`)"])),
        ("a wildcard account is fine", allow(json!("iam:PassRole"), json!("arn:aws:iam::*:role/x")), Check(P::InvalidArns, false, &[])),
        ("not an ARN at all", allow(json!("s3:GetObject"), json!("s3://reports/x")), Check(P::InvalidArns, false, &["s3://reports/x (an ARN has six colon-separated parts)"])),
        ("an unknown partition", allow(json!("s3:GetObject"), json!("arn:amazon:s3:::b")), Check(P::InvalidArns, false, &["arn:amazon:s3:::b (unknown partition `amazon`)"])),
        // --- access levels on every resource ---
        ("read on *", allow(json!("s3:GetObject"), json!("*")), Check(P::AccessLevel(vec![AccessLevel::Read, AccessLevel::PermissionsManagement]), false, &["read on *"])),
        ("permissions management on *", allow(json!("iam:PutUserPolicy"), json!("*")), Check(P::AccessLevel(vec![AccessLevel::PermissionsManagement]), false, &["permissions_management on *"])),
        ("permissions management on one user is not on *", allow(json!("iam:PutUserPolicy"), json!("arn:aws:iam::123456789012:user/a")), Check(P::AccessLevel(vec![AccessLevel::PermissionsManagement]), false, &[])),
        ("iam:* grants every level", allow(json!("iam:*"), json!("*")), Check(P::AccessLevel(vec![AccessLevel::Read, AccessLevel::Write, AccessLevel::List, AccessLevel::Tagging, AccessLevel::PermissionsManagement]), false, &["read on *", "write on *", "list on *", "tagging on *", "permissions_management on *"])),
        ("s3:List* is list", allow(json!("s3:List*"), json!("*")), Check(P::AccessLevel(vec![AccessLevel::List, AccessLevel::Write]), false, &["list on *"])),
        ("a Deny removes the level", stmts(json!([{"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}])), Check(P::AccessLevel(vec![AccessLevel::PermissionsManagement]), false, &[])),
        // --- trust policies ---
        ("Principal *", stmts(json!([{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}])), Check(P::AnyPrincipal, false, &["a statement trusts any principal"])),
        ("Principal AWS *", stmts(json!([{"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}])), Check(P::AnyPrincipal, false, &["statement Open trusts any principal"])),
        ("* inside a principal list", stmts(json!([{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "*"]}, "Action": "sts:AssumeRole"}])), Check(P::AnyPrincipal, false, &["a statement trusts any principal"])),
        ("a named account", stmts(json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}])), Check(P::AnyPrincipal, false, &[])),
        ("a service principal", stmts(json!([{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}])), Check(P::AnyPrincipal, false, &[])),
        ("any principal with a condition", stmts(json!([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}}])), Check(P::AnyPrincipal, false, &[])),
        ("a condition on the organization limits who, even counted", stmts(json!([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}}])), Check(P::AnyPrincipal, true, &[])),
        ("an IP condition does not limit who", stmts(json!([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}])), Check(P::AnyPrincipal, true, &["a statement trusts any principal (conditioned: aws:SourceIp)"])),
        ("Deny with any principal is fine", stmts(json!([{"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}])), Check(P::AnyPrincipal, false, &[])),
        // --- issue 10: conditions count and say so ---
        ("a conditioned admin names its condition", stmts(json!([{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}])), Check(P::AdminAccess, true, &["Allow * on * (conditioned: aws:SourceIp)"])),
        ("a conditioned admin is skipped when asked", stmts(json!([{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}])), Check(P::AdminAccess, false, &[])),
        ("a conditioned Deny does not cancel admin, and says so", stmts(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}])), Check(P::AdminAccess, true, &["Allow * on *", "a conditioned Deny of * on * does not cancel (conditioned: aws:SecureTransport)"])),
        ("PassRole to Lambda only is still every role", stmts(json!([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}}])), Check(P::PassroleOnAnyResource, true, &["iam:PassRole on * (conditioned: iam:PassedToService)"])),
        ("PassRole to Lambda only cannot start EC2", stmts(json!([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}}, {"Effect": "Allow", "Action": ["ec2:RunInstances", "lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}])), Check(P::PrivilegeEscalation(None), true, &["passrole-lambda-invoke (conditioned: iam:PassedToService)"])),
        ("PassedToService on a statement that also grants RunInstances: RunInstances never carries the key", stmts(json!([{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*", "Condition": {"StringLike": {"iam:PassedToService": "ec2.*"}}}])), Check(P::PrivilegeEscalation(None), true, &[])),
        // --- NotResource / NotAction "*" grant nothing ---
        ("Allow * NotResource * is not admin", stmts(json!([{"Effect": "Allow", "Action": "*", "NotResource": "*"}])), Admin(true, false)),
        ("Allow NotResource * allows nothing", stmts(json!([{"Effect": "Allow", "Action": "s3:*", "NotResource": "*"}])), Allows("s3:GetObject", "arn:aws:s3:::b/k", true, false)),
        ("Allow NotAction * is no NotAction finding", stmts(json!([{"Effect": "Allow", "NotAction": "*", "Resource": "*"}])), Check(P::NotActionAllow, true, &[])),
        ("Allow NotResource * is no NotResource finding", stmts(json!([{"Effect": "Allow", "Action": "s3:*", "NotResource": ["*"]}])), Check(P::NotResourceAllow, true, &[])),
        ("CreatePolicyVersion NotResource * is no escalation", stmts(json!([{"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "NotResource": "*"}])), Check(P::PrivilegeEscalation(None), true, &[])),
        // --- escalation by resource type ---
        ("CreatePolicyVersion on users is no escalation", allow(json!("iam:CreatePolicyVersion"), json!("arn:aws:iam::*:user/*")), Check(P::PrivilegeEscalation(None), true, &[])),
        ("CreateAccessKey on roles is no escalation", allow(json!("iam:CreateAccessKey"), json!("arn:aws:iam::*:role/*")), Check(P::PrivilegeEscalation(None), true, &[])),
        ("CreateAccessKey on users is", allow(json!("iam:CreateAccessKey"), json!("arn:aws:iam::*:user/*")), Check(P::PrivilegeEscalation(None), true, &["create-access-key"])),
        ("RunInstances on instances only cannot launch", allow(json!(["iam:PassRole", "ec2:RunInstances"]), json!(["arn:aws:iam::*:role/*", "arn:aws:ec2:*:*:instance/*"])), Check(P::PrivilegeEscalation(None), true, &[])),
        ("UpdateFunctionCode on layers is no escalation", allow(json!("lambda:UpdateFunctionCode"), json!("arn:aws:lambda:*:*:layer:*")), Check(P::PrivilegeEscalation(None), true, &[])),
        ("a Deny on every user removes AttachUserPolicy", stmts(json!([{"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:AttachUserPolicy", "Resource": "arn:aws:iam::*:user/*"}])), Check(P::PrivilegeEscalation(None), true, &[])),
        // --- policy variables by Version ---
        ("${aws:username} is oneself under 2012-10-17", stmts(json!([{"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "arn:aws:iam::*:user/${aws:username}"}])), Check(P::PrivilegeEscalation(None), true, &[])),
        ("*${aws:username} reaches others under 2012-10-17", stmts(json!([{"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "arn:aws:iam::*:user/*${aws:username}"}])), Check(P::PrivilegeEscalation(None), true, &["create-access-key"])),
        ("*${aws:username} is literal under 2008-10-17", json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "arn:aws:iam::*:user/*${aws:username}"}]}), Check(P::PrivilegeEscalation(None), true, &[])),
        ("*${aws:username} is literal without a Version", json!({"Statement": [{"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "arn:aws:iam::*:user/*${aws:username}"}]}), Check(P::PrivilegeEscalation(None), true, &[])),
        ("a literal NotResource variable leaves the Deny on every user", json!({"Statement": [{"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:PutUserPolicy", "NotResource": "arn:aws:iam::*:user/${aws:username}"}]}), Check(P::PrivilegeEscalation(None), true, &[])),
        ("a variable NotResource leaves oneself", stmts(json!([{"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:PutUserPolicy", "NotResource": "arn:aws:iam::*:user/${aws:username}"}])), Check(P::PrivilegeEscalation(None), true, &["put-user-policy"])),
        // --- PassRole on every role, by pattern ---
        ("PassRole on arn:aws:iam::*:role/*", allow(json!("iam:PassRole"), json!("arn:aws:iam::*:role/*")), Check(P::PassroleOnAnyResource, true, &["iam:PassRole on arn:aws:iam::*:role/*"])),
        ("PassRole on one account's roles", allow(json!("iam:PassRole"), json!("arn:aws:iam::123456789012:role/*")), Check(P::PassroleOnAnyResource, true, &["iam:PassRole on arn:aws:iam::123456789012:role/*"])),
        ("PassRole on arn:aws:iam::*:*", allow(json!("iam:PassRole"), json!("arn:aws:iam::*:*")), Check(P::PassroleOnAnyResource, true, &["iam:PassRole on arn:aws:iam::*:*"])),
        ("PassRole on arn:*", allow(json!("iam:PassRole"), json!("arn:*")), Check(P::PassroleOnAnyResource, true, &["iam:PassRole on arn:*"])),
        ("PassRole on a role path is not every role", allow(json!("iam:PassRole"), json!("arn:aws:iam::*:role/service-role/*")), Check(P::PassroleOnAnyResource, true, &[])),
        ("a Deny on every role cancels PassRole", stmts(json!([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:*", "Resource": "arn:aws:iam::*:role/*"}])), Check(P::PassroleOnAnyResource, true, &[])),
        // --- every action of a service, by effect ---
        ("iam:* on an S3 ARN grants no IAM action", allow(json!("iam:*"), json!("arn:aws:s3:::b/*")), Check(P::ServiceWildcards(Some(vec!["iam".into()])), true, &[])),
        ("Allow * less Deny iam:* grants all of kms, sts and cloudtrail", stmts(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}])), Check(P::ServiceWildcards(Some(vec!["iam".into(), "kms".into(), "sts".into(), "cloudtrail".into()])), true, &["kms:*", "sts:*", "cloudtrail:*"])),
        ("NotAction iam, organizations grants all of kms, sts and cloudtrail", stmts(json!([{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}])), Check(P::ServiceWildcards(Some(vec!["iam".into(), "organizations".into(), "kms".into(), "sts".into(), "cloudtrail".into()])), true, &["kms:*", "sts:*", "cloudtrail:*"])),
        ("kms:* on one key is not every KMS action", allow(json!("kms:*"), json!("arn:aws:kms:eu-west-1:123456789012:key/k")), Check(P::ServiceWildcards(Some(vec!["kms".into()])), true, &[])),
        ("a conditioned kms:* says so", stmts(json!([{"Effect": "Allow", "Action": "kms:*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}])), Check(P::ServiceWildcards(Some(vec!["kms".into()])), true, &["kms:* (conditioned: aws:SourceVpc)"])),
        // --- what a Deny removes from admin ---
        ("Allow * less Deny s3:* is admin and names the Deny", stmts(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}])), Check(P::AdminAccess, true, &["Allow * on *", "Deny removes s3:* on *"])),
        ("Allow * less Deny iam:* is not admin", stmts(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}])), Admin(true, false)),
    ]
}

#[test]
fn policy_semantics_table() {
    let cases = cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (name, doc, q) in &cases {
        let parsed = Document::parse(doc);
        let problem = match (q, &parsed) {
            (Q::ParseError(want), Err(e)) => {
                (!e.to_string().contains(want)).then(|| format!("error `{e}` lacks `{want}`"))
            }
            (Q::ParseError(_), Ok(_)) => Some("parsed, but should not".to_string()),
            (_, Err(e)) => Some(format!("does not parse: {e}")),
            (Q::Allows(a, r, ic, want), Ok(d)) => {
                (d.allows(a, r, *ic) != *want).then(|| format!("allows({a}, {r}) != {want}"))
            }
            (Q::Admin(ic, want), Ok(d)) => {
                (d.admin_access(*ic) != *want).then(|| format!("admin_access != {want}"))
            }
            (Q::Check(c, ic, want), Ok(d)) => {
                let got = d.check(c, *ic);
                (got != want.iter().map(|w| w.to_string()).collect::<Vec<_>>())
                    .then(|| format!("{c:?}: got {got:?}, want {want:?}"))
            }
            (Q::Holds(c, ic, some), Ok(d)) => {
                let got = d.check(c, *ic);
                let missing: Vec<_> = some
                    .iter()
                    .filter(|w| !got.iter().any(|g| g == *w))
                    .collect();
                (!missing.is_empty()).then(|| format!("{c:?}: {missing:?} missing from {got:?}"))
            }
        };
        if let Some(p) = problem {
            failures.push(format!("{name}: {p}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
