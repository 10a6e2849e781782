//! Typed configuration, read once at cold start from the environment.

use crate::error::ConfigError;

/// Names of the AWS resources a function works with.
#[derive(Clone, Debug)]
pub struct Config {
    /// DynamoDB table holding accounts, API keys, integrations and datasets (`TABLE_NAME`).
    pub table_name: String,
    /// DynamoDB table holding dataset records (`RECORDS_TABLE_NAME`).
    pub records_table_name: String,
    /// Prefix of every integration's Secrets Manager secret name (`SECRET_PREFIX`).
    pub secret_prefix: String,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError::Missing(name))
        };
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            records_table_name: required("RECORDS_TABLE_NAME")?,
            secret_prefix: required("SECRET_PREFIX")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_variable_is_an_error_naming_it() {
        let err =
            Config::from_lookup(|n| (n == "TABLE_NAME").then(|| "t".to_string())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable RECORDS_TABLE_NAME is not set"
        );
    }

    #[test]
    fn reads_every_variable() {
        let c = Config::from_lookup(|n| Some(format!("v-{n}"))).unwrap();
        assert_eq!(c.table_name, "v-TABLE_NAME");
        assert_eq!(c.records_table_name, "v-RECORDS_TABLE_NAME");
        assert_eq!(c.secret_prefix, "v-SECRET_PREFIX");
    }
}
