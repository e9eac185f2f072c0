//! GoodHire's `[connectors.options]`: which environment to call and which
//! candidate address fields an operator chose to keep.

use serde::Deserialize;

/// Options of a GoodHire connector section; absent, production and no address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoodhireOptions {
    /// The API to call; `base_url` in the section still overrides it.
    #[serde(default)]
    pub environment: Environment,
    /// Candidate address fields to keep in stored payloads. Every field not
    /// listed is removed before anything is written, like the SSN.
    #[serde(default)]
    pub keep_address_fields: Vec<AddressField>,
}

/// GoodHire's two base endpoints (seed `001_9bab87cc4353b0db.txt`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Production,
    /// Dummy data, for building an integration.
    Sandbox,
}

impl Environment {
    pub fn base_url(self) -> &'static str {
        match self {
            Environment::Production => "https://api.goodhire.com/v1",
            Environment::Sandbox => "https://api-sandbox.goodhire.com/v1",
        }
    }
}

/// The address fields of a GoodHire candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressField {
    Address,
    City,
    State,
    Zip,
}

impl AddressField {
    pub const ALL: [AddressField; 4] = [
        AddressField::Address,
        AddressField::City,
        AddressField::State,
        AddressField::Zip,
    ];

    /// The candidate's JSON key.
    pub fn key(self) -> &'static str {
        match self {
            AddressField::Address => "Address",
            AddressField::City => "City",
            AddressField::State => "State",
            AddressField::Zip => "Zip",
        }
    }
}

impl GoodhireOptions {
    /// Redaction paths of the address fields not kept, at any depth (a report
    /// alone, or inside a webhook's `ReportStatus`).
    pub fn address_redactions(&self) -> Vec<String> {
        AddressField::ALL
            .iter()
            .filter(|f| !self.keep_address_fields.contains(f))
            .map(|f| format!("**.Candidate.{}", f.key()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GoodhireOptions, toml_edit::de::Error> {
        toml_edit::de::from_str(text)
    }

    #[test]
    fn defaults_environments_and_address_opt_in() {
        let o = parse("").unwrap();
        assert_eq!(o.environment, Environment::Production);
        assert_eq!(o.address_redactions().len(), 4);
        let o = parse("environment = \"sandbox\"\nkeep_address_fields = [\"city\", \"state\"]")
            .unwrap();
        assert_eq!(
            o.environment.base_url(),
            "https://api-sandbox.goodhire.com/v1"
        );
        assert_eq!(
            o.address_redactions(),
            vec!["**.Candidate.Address", "**.Candidate.Zip"]
        );
    }

    #[test]
    fn unknown_keys_and_values_are_refused() {
        assert!(parse("environment = \"staging\"").is_err());
        assert!(parse("keep_address_fields = [\"ssn\"]").is_err());
        assert!(parse("region = \"us\"").is_err());
    }
}
