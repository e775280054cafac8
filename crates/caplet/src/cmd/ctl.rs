//! `caplet ctl`: inspect and change a running host through its control API (docs/control.md).
//!
//! Each subcommand is one request. Output is a short human summary; `--json` prints the API's
//! answer as it is, for scripts. Modules are read here and sent in the request, so paths are
//! relative to where `caplet ctl` runs, not to the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use caplet_control::client::encode_segment;
use caplet_control::model::{
    ActorInfo, Health, Inventory, LinkInfo, LinkRequest, ProviderRequest, ProviderStarted,
    StartActor, SwapInfo, UpdateActor, module_base64,
};
use caplet_control::{Client, Reply, Token, default_token_path};
use clap::{Args, Subcommand};

/// Exit code when the API refused the request, or `health` found the host degraded.
const EXIT_REFUSED: u8 = 1;

#[derive(Args, Debug)]
pub struct CtlArgs {
    /// The control API's address.
    #[arg(long, global = true, env = "CAPLET_CONTROL_ADDR",
          default_value_t = caplet_control::DEFAULT_CONTROL_ADDR.to_string())]
    pub addr: String,
    /// The bearer token file [default: $XDG_RUNTIME_DIR/caplet/control.token, else
    /// ~/.caplet/control.token].
    #[arg(
        long,
        global = true,
        env = "CAPLET_CONTROL_TOKEN_FILE",
        value_name = "PATH"
    )]
    pub token_file: Option<PathBuf>,
    /// Print the API's JSON answer as it is.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(Subcommand, Debug)]
pub enum CtlCommand {
    /// List running actors, providers (with health) and links.
    Inventory,
    /// Show the host's health; exits 1 when degraded.
    Health,
    /// Print the Prometheus metrics.
    Metrics,
    /// Start, stop or hot-swap actors.
    #[command(subcommand)]
    Actor(ActorCommand),
    /// Add, replace or remove providers.
    #[command(subcommand)]
    Provider(ProviderCommand),
    /// Put or delete links.
    #[command(subcommand)]
    Link(LinkCommand),
}

#[derive(Subcommand, Debug)]
pub enum ActorCommand {
    /// Start a signed actor from a module file.
    Start {
        /// The actor's name.
        name: String,
        /// The signed module.
        path: PathBuf,
        /// Warm instances to keep [default: 1].
        #[arg(long)]
        instances: Option<u32>,
    },
    /// Stop an actor.
    Stop {
        /// The actor's name.
        name: String,
    },
    /// Replace a running actor's code (same module key, higher rev) without dropping calls.
    Update {
        /// The actor's name.
        name: String,
        /// The new signed module.
        path: PathBuf,
        /// Accept a rev that is not higher than the running one (a rollback).
        #[arg(long)]
        force: bool,
        /// Accept a module signed with another module key: the actor is then known by the new
        /// public key and its links move to it.
        #[arg(long)]
        force_new_identity: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProviderCommand {
    /// Add a provider.
    Add(ProviderArgs),
    /// Replace the running provider of a contract and link name.
    Replace(ProviderArgs),
    /// Remove a provider; its links stay and wait for another.
    Remove {
        /// The contract id.
        contract: String,
        /// The link name [default: default].
        #[arg(long)]
        link_name: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct ProviderArgs {
    /// The contract id, e.g. wasmcloud:keyvalue.
    pub contract: String,
    /// The implementation (memory, redis, local, nats, hyper) [default: the contract's first].
    pub implementation: Option<String>,
    /// The link name it serves [default: default].
    #[arg(long)]
    pub link_name: Option<String>,
    /// A configuration entry, as in [provider.config]; repeatable.
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = key_value)]
    pub config: Vec<(String, String)>,
}

#[derive(Subcommand, Debug)]
pub enum LinkCommand {
    /// Link an actor to a contract (replacing the link's values if it exists).
    Put {
        /// The actor's name.
        actor: String,
        /// The contract id.
        contract: String,
        /// The link name [default: default].
        #[arg(long)]
        link_name: Option<String>,
        /// A link value, as in [link.values]; repeatable.
        #[arg(long = "value", value_name = "KEY=VALUE", value_parser = key_value)]
        values: Vec<(String, String)>,
    },
    /// Delete a link.
    Delete {
        /// The actor's name.
        actor: String,
        /// The contract id.
        contract: String,
        /// The link name [default: default].
        #[arg(long)]
        link_name: Option<String>,
    },
}

fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

pub fn run(args: CtlArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(ctl(args))
}

async fn ctl(args: CtlArgs) -> anyhow::Result<ExitCode> {
    let token_file = match &args.token_file {
        Some(path) => path.clone(),
        None => default_token_path().context(
            "no default token file (no XDG_RUNTIME_DIR or home folder); pass --token-file",
        )?,
    };
    let token = Token::read(&token_file).context(
        "could not read the control token (`caplet up` writes it and prints where; pass --token-file if it is elsewhere)",
    )?;
    let client = Client::new(args.addr.clone(), Some(token.as_str().to_string()));
    let (reply, show): (Reply, fn(&Reply) -> anyhow::Result<String>) = match args.command {
        CtlCommand::Inventory => (get(&client, "/v1/inventory").await?, show_inventory),
        CtlCommand::Health => (get(&client, "/v1/health").await?, show_health),
        CtlCommand::Metrics => (get(&client, "/metrics").await?, |r| Ok(r.text())),
        CtlCommand::Actor(command) => actor(&client, command).await?,
        CtlCommand::Provider(command) => provider(&client, command).await?,
        CtlCommand::Link(command) => link(&client, command).await?,
    };
    let degraded = reply.status == 503 && reply.json::<Health>().is_ok();
    if !reply.is_success() && !degraded {
        if args.json {
            println!("{}", reply.text());
        }
        eprintln!("error: {}", reply.error_message());
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    if args.json {
        println!("{}", reply.text().trim_end());
    } else {
        print!("{}", show(&reply)?);
    }
    Ok(if degraded {
        ExitCode::from(EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    })
}

type Shown = (Reply, fn(&Reply) -> anyhow::Result<String>);

async fn get(client: &Client, path: &str) -> anyhow::Result<Reply> {
    Ok(client.send::<()>("GET", path, None).await?)
}

async fn actor(client: &Client, command: ActorCommand) -> anyhow::Result<Shown> {
    Ok(match command {
        ActorCommand::Start {
            name,
            path,
            instances,
        } => {
            let body = StartActor {
                name,
                path: None,
                module_base64: Some(read_module(&path)?),
                instances,
            };
            let reply = client.send("POST", "/v1/actors", Some(&body)).await?;
            (reply, |r| {
                let a: ActorInfo = r.json()?;
                Ok(format!(
                    "started {} ({}){}, {} idle instance(s)\n",
                    a.name,
                    a.id,
                    a.rev.map(|rev| format!(" rev {rev}")).unwrap_or_default(),
                    a.idle_instances
                ))
            })
        }
        ActorCommand::Stop { name } => {
            let path = format!("/v1/actors/{}", encode_segment(&name));
            let reply = client.send::<()>("DELETE", &path, None).await?;
            (reply, |r| Ok(format!("stopped {}\n", field(r, "/stopped"))))
        }
        ActorCommand::Update {
            name,
            path,
            force,
            force_new_identity,
        } => {
            let body = UpdateActor {
                path: None,
                module_base64: Some(read_module(&path)?),
                force_rev: force,
                force_new_identity,
            };
            let url = format!("/v1/actors/{}", encode_segment(&name));
            let reply = client.send("PUT", &url, Some(&body)).await?;
            (reply, |r| {
                let s: SwapInfo = r.json()?;
                let mut text = format!(
                    "updated {}: rev {} -> {} (module {} -> {})\n",
                    s.actor,
                    rev(s.old_rev),
                    rev(s.new_rev),
                    short(&s.old_hash),
                    short(&s.new_hash)
                );
                if s.old_id != s.new_id {
                    text.push_str(&format!("new identity: {} -> {}\n", s.old_id, s.new_id));
                }
                for warning in &s.warnings {
                    text.push_str(&format!("warning: {warning}\n"));
                }
                Ok(text)
            })
        }
    })
}

async fn provider(client: &Client, command: ProviderCommand) -> anyhow::Result<Shown> {
    let (method, args) = match command {
        ProviderCommand::Add(args) => ("POST", args),
        ProviderCommand::Replace(args) => ("PUT", args),
        ProviderCommand::Remove {
            contract,
            link_name,
        } => {
            let link = link_name.unwrap_or_else(|| "default".to_string());
            let path = format!(
                "/v1/providers/{}/{}",
                encode_segment(&contract),
                encode_segment(&link)
            );
            let reply = client.send::<()>("DELETE", &path, None).await?;
            return Ok((reply, |r| {
                Ok(format!(
                    "removed the {} provider of link {}\n",
                    field(r, "/removed/contract"),
                    field(r, "/removed/link_name")
                ))
            }));
        }
    };
    let body = ProviderRequest {
        contract: args.contract,
        implementation: args.implementation,
        link_name: args.link_name,
        config: args.config.into_iter().collect(),
    };
    let reply = client.send(method, "/v1/providers", Some(&body)).await?;
    Ok((reply, |r| {
        let p: ProviderStarted = r.json()?;
        let verb = if p.replaced { "replaced" } else { "started" };
        Ok(format!(
            "{verb} the {} provider of {} on link {}\n",
            p.implementation, p.contract, p.link_name
        ))
    }))
}

async fn link(client: &Client, command: LinkCommand) -> anyhow::Result<Shown> {
    Ok(match command {
        LinkCommand::Put {
            actor,
            contract,
            link_name,
            values,
        } => {
            let body = LinkRequest {
                actor,
                contract,
                link_name,
                values: values.into_iter().collect(),
            };
            let reply = client.send("PUT", "/v1/links", Some(&body)).await?;
            (reply, |r| {
                let l: LinkInfo = r.json()?;
                Ok(format!(
                    "linked {} to {} on link {}\n",
                    l.actor, l.contract, l.link_name
                ))
            })
        }
        LinkCommand::Delete {
            actor,
            contract,
            link_name,
        } => {
            let body = LinkRequest {
                actor,
                contract,
                link_name,
                values: BTreeMap::new(),
            };
            let reply = client.send("DELETE", "/v1/links", Some(&body)).await?;
            (reply, |r| {
                Ok(format!(
                    "deleted the link of {} to {} on link {}\n",
                    field(r, "/deleted/actor"),
                    field(r, "/deleted/contract"),
                    field(r, "/deleted/link_name")
                ))
            })
        }
    })
}

fn read_module(path: &Path) -> anyhow::Result<String> {
    let bytes =
        std::fs::read(path).with_context(|| format!("could not read `{}`", path.display()))?;
    if bytes.len() > caplet_control::MAX_BODY_BYTES / 4 * 3 {
        bail!(
            "`{}` is {} bytes; the control API takes modules up to {} bytes",
            path.display(),
            bytes.len(),
            caplet_control::MAX_BODY_BYTES / 4 * 3
        );
    }
    Ok(module_base64(&bytes))
}

fn show_inventory(reply: &Reply) -> anyhow::Result<String> {
    let inventory: Inventory = reply.json()?;
    let mut actors = vec![row(&["ACTOR", "REV", "VER", "IDLE", "ID", "ISSUER"])];
    for a in &inventory.actors {
        actors.push(row(&[
            &a.name,
            &rev(a.rev),
            a.ver.as_deref().unwrap_or("-"),
            &a.idle_instances.to_string(),
            &a.id,
            a.issuer.as_deref().unwrap_or("(unsigned)"),
        ]));
    }
    let mut providers = vec![row(&["CONTRACT", "LINK", "IMPLEMENTATION", "HEALTH"])];
    for p in &inventory.providers {
        let health = match &p.reason {
            None => "healthy".to_string(),
            Some(reason) => format!("unhealthy: {reason}"),
        };
        providers.push(row(&[
            &p.contract,
            &p.link_name,
            &p.implementation,
            &health,
        ]));
    }
    let mut links = vec![row(&["ACTOR", "CONTRACT", "LINK", "VALUES"])];
    for l in &inventory.links {
        let values: Vec<String> = l.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
        links.push(row(&[
            &l.actor,
            &l.contract,
            &l.link_name,
            &values.join(" "),
        ]));
    }
    Ok(format!(
        "{}\n{}\n{}",
        table(&actors),
        table(&providers),
        table(&links)
    ))
}

fn show_health(reply: &Reply) -> anyhow::Result<String> {
    let health: Health = reply.json()?;
    let mut out = format!("{}\n", health.status);
    for reason in &health.reasons {
        out.push_str(&format!("  - {reason}\n"));
    }
    Ok(out)
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// Rows as left-aligned columns, two spaces apart.
fn table(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            match widths.get_mut(i) {
                Some(width) => *width = (*width).max(cell.chars().count()),
                None => widths.push(cell.chars().count()),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn rev(rev: Option<i32>) -> String {
    rev.map_or_else(|| "-".to_string(), |r| r.to_string())
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// The string at JSON `pointer` (`/removed/contract`) in the answer, or empty.
fn field(reply: &Reply, pointer: &str) -> String {
    reply
        .json::<serde_json::Value>()
        .ok()
        .and_then(|v| {
            v.pointer(pointer)
                .and_then(|f| f.as_str().map(str::to_string))
        })
        .unwrap_or_default()
}
