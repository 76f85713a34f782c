//! Typed configuration: defaults in code, then an optional YAML file, then `TRADING_PLANNER_*`
//! environment variables (nested keys joined by `__`, e.g. `TRADING_PLANNER_SERVER__BIND`).
//! Unknown keys are errors, so a typo never passes silently.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_yaml::{Mapping, Value};

use crate::evaluator::settings::DEFAULT_MONTE_CARLO_SEED;

pub const ENV_PREFIX: &str = "TRADING_PLANNER_";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub evaluator: EvaluatorConfig,
    pub generator: GeneratorConfig,
    pub store: StoreConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the HTTP server listens on.
    pub bind: String,
    /// Largest request body accepted, in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluatorConfig {
    /// Threads that score sequences; 0 = one less than the number of cores (at least one), so the
    /// HTTP server keeps a core.
    pub threads: usize,
    /// Monte Carlo seed used when a request does not carry one.
    pub monte_carlo_seed: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorConfig {
    /// Seed of the random combinatorial sampler when a request does not carry one.
    pub sampler_seed: u64,
    /// Largest batch the exhaustive generator hands on; bounds memory per batch.
    pub batch_size: usize,
    /// Most sequences `POST /generator/generate` streams in exhaustive mode when the request
    /// sets no `exhaustive.max_sequences`.
    pub route_max_sequences: u64,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            sampler_seed: 42,
            batch_size: 4096,
            route_max_sequences: 1_000_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Database file name inside the data directory.
    pub file_name: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8000".to_string(),
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Default for EvaluatorConfig {
    fn default() -> Self {
        EvaluatorConfig {
            threads: 0,
            monte_carlo_seed: DEFAULT_MONTE_CARLO_SEED,
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            file_name: "trading-planner.db".to_string(),
        }
    }
}

impl EvaluatorConfig {
    /// The scoring thread count to use on this machine.
    pub fn effective_threads(&self) -> usize {
        if self.threads > 0 {
            return self.threads;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores.saturating_sub(1).max(1)
    }
}

impl StoreConfig {
    pub fn database_path(&self, data_dir: &Path) -> PathBuf {
        data_dir.join(&self.file_name)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid YAML: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    #[error("environment variable {name}: {reason}")]
    Env { name: String, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads defaults, then `file` (if any), then the `TRADING_PLANNER_*` variables of `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut tree = serde_yaml::to_value(Config::default()).expect("defaults serialise");
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.into(),
                source,
            })?;
            let overlay: Value =
                serde_yaml::from_str(&text).map_err(|source| ConfigError::Yaml {
                    path: path.into(),
                    source,
                })?;
            if !overlay.is_null() {
                merge(&mut tree, overlay);
            }
        }
        let mut vars: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        vars.sort();
        for (name, raw) in vars {
            let key = &name[ENV_PREFIX.len()..];
            // The data directory is a command-line setting with its own variable.
            if key == "DATA_DIR" {
                continue;
            }
            let path: Vec<String> = key.split("__").map(str::to_lowercase).collect();
            if path.iter().any(String::is_empty) {
                return Err(ConfigError::Env {
                    name,
                    reason: "empty key segment".into(),
                });
            }
            let value: Value = serde_yaml::from_str(&raw).unwrap_or(Value::String(raw.clone()));
            set_path(&mut tree, &path, value).map_err(|reason| ConfigError::Env {
                name: name.clone(),
                reason,
            })?;
        }
        let config: Config =
            serde_yaml::from_value(tree).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Loads with the process environment.
    pub fn load_from_env(file: Option<&Path>) -> Result<Config, ConfigError> {
        Config::load(file, std::env::vars())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.server
            .bind
            .parse::<std::net::SocketAddr>()
            .map_err(|e| {
                ConfigError::Invalid(format!("server.bind {:?}: {e}", self.server.bind))
            })?;
        if self.server.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "server.max_body_bytes must be at least 1024".into(),
            ));
        }
        if self.generator.batch_size == 0 {
            return Err(ConfigError::Invalid(
                "generator.batch_size must be at least 1".into(),
            ));
        }
        if self.store.file_name.is_empty() || self.store.file_name.contains('/') {
            return Err(ConfigError::Invalid(
                "store.file_name must be a plain file name".into(),
            ));
        }
        Ok(())
    }
}

fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

fn set_path(tree: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let mut node = tree;
    for (i, segment) in path.iter().enumerate() {
        let map: &mut Mapping = node
            .as_mapping_mut()
            .ok_or_else(|| format!("{} is not a section", path[..i].join(".")))?;
        let key = Value::String(segment.clone());
        if i + 1 == path.len() {
            map.insert(key, value);
            return Ok(());
        }
        node = map
            .entry(key)
            .or_insert_with(|| Value::Mapping(Mapping::new()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_file_or_env() {
        assert_eq!(Config::load(None, env(&[])).unwrap(), Config::default());
    }

    #[test]
    fn shipped_default_yaml_equals_the_defaults_in_code() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.yaml");
        assert_eq!(
            Config::load(Some(&path), env(&[])).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn file_then_env_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(
            &path,
            "server:\n  bind: 0.0.0.0:9000\nevaluator:\n  threads: 3\n",
        )
        .unwrap();
        let config = Config::load(
            Some(&path),
            env(&[
                ("TRADING_PLANNER_EVALUATOR__THREADS", "5"),
                ("TRADING_PLANNER_SERVER__MAX_BODY_BYTES", "4096"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.server.bind, "0.0.0.0:9000");
        assert_eq!(config.evaluator.threads, 5);
        assert_eq!(config.server.max_body_bytes, 4096);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_readable_errors() {
        let err = Config::load(None, env(&[("TRADING_PLANNER_SERVER__BINDD", "x")])).unwrap_err();
        assert!(err.to_string().contains("bindd"), "{err}");
        let err =
            Config::load(None, env(&[("TRADING_PLANNER_SERVER__BIND", "nowhere")])).unwrap_err();
        assert!(err.to_string().contains("server.bind"), "{err}");
        let err =
            Config::load(None, env(&[("TRADING_PLANNER_EVALUATOR__THREADS", "many")])).unwrap_err();
        assert!(err.to_string().contains("invalid"), "{err}");
    }

    #[test]
    fn data_dir_variable_is_left_to_the_command_line() {
        assert!(Config::load(None, env(&[("TRADING_PLANNER_DATA_DIR", "/tmp/x")])).is_ok());
    }
}
