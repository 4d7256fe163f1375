"""bakeoff's successive-halving sweeper for Hydra (`hydra/sweeper=halving`); see
bakeoff.race and docs/halving.md. Hydra finds sweepers only under the `hydra_plugins` namespace
package."""
