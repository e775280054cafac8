//! `wasmcloud:builtin:numbergen`: random numbers and GUIDs from the operating system's CSPRNG.

use caplet_provider_api::{
    ActorRef, BoxFuture, LinkDefinition, Provider, ProviderCall, ProviderError,
};
use caplet_wire::contracts::NUMBERGEN;
use caplet_wire::numbergen::{GENERATE_GUID, RANDOM_32, RANDOM_IN_RANGE, RangeLimit};

/// Serves `NumberGen.GenerateGuid`, `NumberGen.RandomInRange` and `NumberGen.Random32`.
#[derive(Debug, Default)]
pub struct NumberGenProvider;

fn random_bytes<const N: usize>() -> Result<[u8; N], ProviderError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| ProviderError::Failed(format!("the OS random source failed: {e}")))?;
    Ok(bytes)
}

fn random_u32() -> Result<u32, ProviderError> {
    Ok(u32::from_le_bytes(random_bytes::<4>()?))
}

/// A version-4 GUID, lowercase hex with dashes.
pub fn guid() -> Result<String, ProviderError> {
    let mut bytes = random_bytes::<16>()?;
    if let Some(b) = bytes.get_mut(6) {
        *b = (*b & 0x0f) | 0x40;
    }
    if let Some(b) = bytes.get_mut(8) {
        *b = (*b & 0x3f) | 0x80;
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default().to_string();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    ))
}

/// A uniform number in `min..=max`, without modulo bias.
pub fn in_range(min: u32, max: u32) -> Result<u32, ProviderError> {
    if min > max {
        return Err(ProviderError::BadRequest(format!(
            "RandomInRange: min {min} is greater than max {max}"
        )));
    }
    let span = u64::from(max - min) + 1;
    // Reject the top sliver of u32 values that would bias the modulo.
    let zone = (1u64 << 32) - ((1u64 << 32) % span);
    loop {
        let value = u64::from(random_u32()?);
        if value < zone {
            let offset = u32::try_from(value % span).unwrap_or(0);
            return Ok(min + offset);
        }
    }
}

impl Provider for NumberGenProvider {
    fn contract_id(&self) -> &str {
        NUMBERGEN
    }

    fn implementation(&self) -> &str {
        "builtin"
    }

    fn bind(&self, _link: LinkDefinition) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }

    fn unbind<'a>(&'a self, _actor: &'a ActorRef, _link_name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn handle<'a>(
        &'a self,
        call: ProviderCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        Box::pin(async move {
            match call.operation {
                GENERATE_GUID => reply(&guid()?),
                RANDOM_32 => reply(&random_u32()?),
                RANDOM_IN_RANGE => {
                    let range: RangeLimit = caplet_wire::decode(call.payload)
                        .map_err(|e| ProviderError::BadRequest(e.to_string()))?;
                    reply(&in_range(range.min, range.max)?)
                }
                other => Err(super::unknown_operation(
                    NUMBERGEN,
                    other,
                    &[GENERATE_GUID, RANDOM_IN_RANGE, RANDOM_32],
                )),
            }
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

fn reply<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ProviderError> {
    caplet_wire::encode(value).map_err(|e| ProviderError::Failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_are_version_4_and_ranges_are_inclusive() {
        let id = guid().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(id.chars().nth(14), Some('4'));
        assert_ne!(id, guid().unwrap());
        for _ in 0..200 {
            let n = in_range(3, 5).unwrap();
            assert!((3..=5).contains(&n));
        }
        assert_eq!(in_range(7, 7).unwrap(), 7);
        assert!(in_range(0, u32::MAX).is_ok());
        assert!(in_range(5, 3).is_err());
    }
}
