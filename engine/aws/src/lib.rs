//! iamwarden's AWS edge: everything that talks to AWS through the SDK, over the SDK-free core.
//!
//! - [`live`]: reads a live account into the core's `Inventory` (the inventory's I/O edge);
//! - [`iam`]: [`iam::SdkIam`], the aws-sdk-iam implementation of the core's `Iam` trait that
//!   apply runs against, the classification of what the SDK returns, and the caller's identity;
//! - [`kms`]: plan signatures with an AWS KMS asymmetric key.
//! - [`org`]: the accounts of an organization and `sts:AssumeRole` into each of them.
//! - [`sqs`]: the queue `watch` long-polls for CloudTrail events (receive, delete).
//! - [`sns`]: the topic `watch --notify-topic` publishes batch summaries to.
//!
//! The CLI builds the SDK configuration and the tokio runtime these run on.

pub mod iam;
pub mod kms;
pub mod live;
pub mod org;
pub mod sns;
pub mod sqs;

#[cfg(test)]
mod tests;
