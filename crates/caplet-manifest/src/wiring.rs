//! `[[provider]]` and `[[link]]`: which implementation serves each contract, and how each actor
//! is configured for it.
//!
//! Every link must end up with a provider keyed by (contract, link name): a declared one, or the
//! contract's default implementation, which is then added to the model as an implied provider.
//! So the host never has to guess, and a link to a contract nobody provides fails here.

use std::collections::BTreeMap;
use std::ops::Range;

use caplet_wire::contracts::canonical;
use toml::de::DeTable;

use crate::contracts::{KnownContract, known_contract, known_contract_ids};
use crate::error::list;
use crate::limits::DEFAULT_LINK_NAME;
use crate::model::{LinkSpec, ProviderSpec};
use crate::read::{Reader, Value, quoted};

const PROVIDER_KEYS: [&str; 4] = ["contract", "implementation", "link_name", "config"];
const LINK_KEYS: [&str; 4] = ["actor", "contract", "link_name", "values"];

/// Actor names listed in a hint at most.
const MAX_NAMES_IN_HINT: usize = 10;

/// Actor names ranked by similarity for a hint at most; more are listed unranked.
const MAX_RANKED_NAMES: usize = 200;

/// Providers by (contract, link name), with the line that declared or implied each. Entries with
/// an unknown contract are kept too, so links to them are not reported a second time.
pub(crate) type ProviderKeys = BTreeMap<(String, String), usize>;

fn known_contracts_hint() -> String {
    format!(
        "Caplet has providers for {}",
        list(&known_contract_ids(), usize::MAX)
    )
}

fn implementations_hint(known: &KnownContract) -> String {
    let names: Vec<String> = known
        .implementations
        .iter()
        .enumerate()
        .map(|(i, name)| {
            if i == 0 {
                format!("`{name}` (default)")
            } else {
                format!("`{name}`")
            }
        })
        .collect();
    format!(
        "implementations of {}: {}",
        known.contract,
        names.join(", ")
    )
}

/// Reads every `[[provider]]`.
pub(crate) fn read_providers(
    r: &mut Reader<'_>,
    value: Option<&Value<'_>>,
) -> (Vec<ProviderSpec>, ProviderKeys) {
    let mut providers = Vec::new();
    let mut keys = ProviderKeys::new();
    let entries = value
        .map(|v| r.tables(v, "[[provider]]"))
        .unwrap_or_default();
    for (table, header) in entries {
        if let Some(provider) = read_provider(r, table, &header, &mut keys) {
            providers.push(provider);
        }
    }
    (providers, keys)
}

fn read_provider(
    r: &mut Reader<'_>,
    table: &DeTable<'_>,
    header: &Range<usize>,
    keys: &mut ProviderKeys,
) -> Option<ProviderSpec> {
    let line = r.diag.line(header);
    r.check_keys(table, "[[provider]]", &PROVIDER_KEYS);
    let contract_value = r.required(
        table,
        header,
        "[[provider]]",
        "contract",
        "\"wasmcloud:keyvalue\"",
    );
    let contract = contract_value
        .and_then(|v| r.string(v, "`contract` in [[provider]]"))
        .map(|c| canonical(&c).to_string());
    let link_name = r.name_or_default(table, "link_name", "[[provider]]", DEFAULT_LINK_NAME);
    let (config, config_lines) = table
        .get("config")
        .map(|v| r.scalar_map(v, "[provider.config]"))
        .unwrap_or_default();
    let implementation = table
        .get("implementation")
        .map(|v| (r.string(v, "`implementation` in [[provider]]"), v.span()));

    let contract = contract?;
    let key = (contract.clone(), link_name.clone());
    if let Some(first) = keys.get(&key) {
        r.diag.error(
            header,
            format!(
                "duplicate [[provider]] for {} with link_name \"{}\"",
                quoted(&contract),
                quoted(&link_name)
            ),
            Some(format!(
                "the first one is at line {first}; give one of them another link_name"
            )),
        );
        return None;
    }
    keys.insert(key, line);

    let Some(known) = known_contract(&contract) else {
        if let Some(value) = contract_value {
            r.diag.error(
                &value.span(),
                format!("unknown contract \"{}\" in [[provider]]", quoted(&contract)),
                Some(known_contracts_hint()),
            );
        }
        return None;
    };
    let implementation = match implementation {
        None => known.default_implementation().to_string(),
        Some((None, _)) => return None,
        Some((Some(name), span)) => {
            if !known.has_implementation(&name) {
                r.diag.error(
                    &span,
                    format!(
                        "contract {} has no implementation \"{}\"",
                        known.contract,
                        quoted(&name)
                    ),
                    Some(implementations_hint(known)),
                );
                return None;
            }
            name
        }
    };
    if known.builtin
        && let Some(value) = table.get("config")
    {
        r.diag.error(
            &value.span(),
            format!(
                "built-in contract {} takes no [provider.config]",
                known.contract
            ),
            Some("remove the config table; built-in providers are always present".to_string()),
        );
        return None;
    }
    Some(ProviderSpec {
        contract,
        implementation,
        link_name,
        config,
        config_lines,
        declared: true,
        line,
    })
}

/// Reads every `[[link]]`, resolving each to a provider; implied default providers are appended
/// to `providers`.
pub(crate) fn read_links(
    r: &mut Reader<'_>,
    value: Option<&Value<'_>>,
    actor_names: &BTreeMap<String, usize>,
    providers: &mut Vec<ProviderSpec>,
    provider_keys: &mut ProviderKeys,
) -> Vec<LinkSpec> {
    let mut links = Vec::new();
    let mut seen: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    let entries = value.map(|v| r.tables(v, "[[link]]")).unwrap_or_default();
    for (table, header) in entries {
        let line = r.diag.line(&header);
        r.check_keys(table, "[[link]]", &LINK_KEYS);
        let actor = read_link_actor(r, table, &header, actor_names);
        let contract_value = r.required(
            table,
            &header,
            "[[link]]",
            "contract",
            "\"wasmcloud:httpserver\"",
        );
        let contract = contract_value
            .and_then(|v| r.string(v, "`contract` in [[link]]"))
            .map(|c| canonical(&c).to_string());
        let link_name = r.name_or_default(table, "link_name", "[[link]]", DEFAULT_LINK_NAME);
        let (values, value_lines) = table
            .get("values")
            .map(|v| r.scalar_map(v, "[link.values]"))
            .unwrap_or_default();

        if let (Some(contract), Some(contract_value)) = (&contract, contract_value) {
            resolve_provider(
                r,
                contract,
                &link_name,
                &contract_value.span(),
                line,
                providers,
                provider_keys,
            );
        }
        let (Some(actor), Some(contract)) = (actor, contract) else {
            continue;
        };
        let key = (actor.clone(), contract.clone(), link_name.clone());
        if let Some(first) = seen.get(&key) {
            r.diag.error(
                &header,
                format!(
                    "duplicate [[link]]: actor \"{}\" is already linked to {} with link_name \"{}\"",
                    quoted(&actor),
                    quoted(&contract),
                    quoted(&link_name)
                ),
                Some(format!(
                    "the first link is at line {first}; merge the two, or give one another link_name"
                )),
            );
            continue;
        }
        seen.insert(key, line);
        links.push(LinkSpec {
            actor,
            contract,
            link_name,
            values,
            value_lines,
            line,
        });
    }
    links
}

fn read_link_actor(
    r: &mut Reader<'_>,
    table: &DeTable<'_>,
    header: &Range<usize>,
    actor_names: &BTreeMap<String, usize>,
) -> Option<String> {
    let value = r.required(table, header, "[[link]]", "actor", "\"my-actor\"")?;
    let actor = r.string(value, "`actor` in [[link]]")?;
    if actor_names.contains_key(&actor) {
        return Some(actor);
    }
    let hint = if actor_names.is_empty() {
        "no [[actor]] is declared; add one with this name".to_string()
    } else {
        let names: Vec<&str> = actor_names.keys().map(String::as_str).collect();
        // Ranking costs a distance per name; past a few hundred names, list them as they are.
        let names = if names.len() <= MAX_RANKED_NAMES {
            r.suggest(&actor, &names).1
        } else {
            names
        };
        format!("declared actors: {}", list(&names, MAX_NAMES_IN_HINT))
    };
    r.diag.error(
        &value.span(),
        format!("link to unknown actor \"{}\"", quoted(&actor)),
        Some(hint),
    );
    None
}

/// Checks that (contract, link name) has a provider, adding the default one when none is declared.
fn resolve_provider(
    r: &mut Reader<'_>,
    contract: &str,
    link_name: &str,
    span: &Range<usize>,
    line: usize,
    providers: &mut Vec<ProviderSpec>,
    keys: &mut ProviderKeys,
) {
    let key = (contract.to_string(), link_name.to_string());
    if keys.contains_key(&key) {
        return;
    }
    let Some(known) = known_contract(contract) else {
        r.diag.error(
            span,
            format!("no provider for contract \"{}\"", quoted(contract)),
            Some(format!(
                "{}; custom contracts need their own provider, which manifests cannot declare yet",
                known_contracts_hint()
            )),
        );
        return;
    };
    keys.insert(key, line);
    providers.push(ProviderSpec {
        contract: known.contract.to_string(),
        implementation: known.default_implementation().to_string(),
        link_name: link_name.to_string(),
        config: BTreeMap::new(),
        config_lines: BTreeMap::new(),
        declared: false,
        line,
    });
}
