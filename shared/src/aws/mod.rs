//! AWS adapters of the [ports](crate::ports): DynamoDB, Secrets Manager, and the table
//! provisioning used by the local stack and the tests.

pub mod clients;
pub mod dynamo;
pub mod keys;
pub mod provision;
pub mod queue;
pub mod scheduler;
pub mod secrets;
