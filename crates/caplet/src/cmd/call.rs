//! `caplet call`: run one waPC operation of an actor, standalone, and print the response.
//!
//! There is no host here: a host call made by the actor fails with an error naming the
//! capability that is not available. Claims are not checked; `caplet call` is the actor
//! author's tool for trying an operation, and `caplet up` is where policy applies.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use caplet_runtime::{CallError, NoHost};
use clap::Args;

use super::run_opts::{Input, LimitArgs, block_on, read_module, runtime};

#[derive(Args, Debug)]
pub struct CallArgs {
    /// The actor module (.wasm).
    pub actor: PathBuf,
    /// The operation to invoke, for example `echo` or `HttpServer.HandleRequest`.
    pub operation: String,
    /// `-` reads the payload from standard input.
    #[arg(value_name = "-", conflicts_with_all = ["data", "file"])]
    pub stdin: Option<String>,
    /// The payload, as a string.
    #[arg(long, short = 'd', conflicts_with = "file")]
    pub data: Option<String>,
    /// Read the payload from a file.
    #[arg(long, short = 'f')]
    pub file: Option<PathBuf>,
    /// Pretty-print a JSON or MessagePack response as JSON instead of writing raw bytes.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(args: CallArgs) -> anyhow::Result<ExitCode> {
    let input = match (&args.stdin, &args.data, &args.file) {
        (Some(dash), _, _) if dash == "-" => Input::Stdin,
        (Some(other), _, _) => {
            anyhow::bail!(
                "unexpected argument `{other}`: pass the payload with --data, --file or `-`"
            )
        }
        (None, Some(data), _) => Input::Data(data.clone()),
        (None, None, Some(path)) => Input::File(path.clone()),
        (None, None, None) => Input::Empty,
    };
    let payload = input.read()?;
    let (name, bytes) = read_module(&args.actor)?;
    let runtime = runtime()?;
    let actor = runtime.load_actor(&name, &bytes, args.limits.limits())?;
    let response = block_on(actor.call(&args.operation, &payload, Arc::new(NoHost)))?;
    let response = match response {
        Ok(response) => response,
        Err(CallError::Guest { message }) => {
            eprintln!("error: {message}");
            return Ok(ExitCode::FAILURE);
        }
        Err(other) => return Err(other.into()),
    };
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let value = decode_structured(&response)?;
        let text = serde_json::to_string_pretty(&value).context("could not format the response")?;
        writeln!(stdout, "{text}")?;
    } else {
        stdout.write_all(&response)?;
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Reads a response as JSON, or else as one complete MessagePack value.
fn decode_structured(bytes: &[u8]) -> anyhow::Result<serde_json::Value> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        return Ok(value);
    }
    let mut cursor = std::io::Cursor::new(bytes);
    let value = rmpv::decode::read_value(&mut cursor)
        .ok()
        .filter(|_| cursor.position() == bytes.len() as u64)
        .context(
            "the response is neither JSON nor MessagePack; drop --json to see the raw bytes",
        )?;
    Ok(msgpack_to_json(value))
}

fn msgpack_to_json(value: rmpv::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        rmpv::Value::Nil => J::Null,
        rmpv::Value::Boolean(b) => J::Bool(b),
        rmpv::Value::Integer(i) => i
            .as_i64()
            .map(J::from)
            .or_else(|| i.as_u64().map(J::from))
            .unwrap_or(J::Null),
        rmpv::Value::F32(f) => J::from(f64::from(f)),
        rmpv::Value::F64(f) => J::from(f),
        rmpv::Value::String(s) => match s.into_str() {
            Some(text) => J::String(text),
            None => J::Null,
        },
        rmpv::Value::Binary(bytes) => match String::from_utf8(bytes) {
            Ok(text) => J::String(text),
            Err(e) => J::Array(e.into_bytes().into_iter().map(J::from).collect()),
        },
        rmpv::Value::Array(items) => J::Array(items.into_iter().map(msgpack_to_json).collect()),
        rmpv::Value::Map(entries) => J::Object(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        rmpv::Value::String(s) => s.into_str().unwrap_or_default(),
                        other => other.to_string(),
                    };
                    (key, msgpack_to_json(v))
                })
                .collect(),
        ),
        rmpv::Value::Ext(kind, bytes) => J::from(format!("ext({kind}, {} bytes)", bytes.len())),
    }
}
