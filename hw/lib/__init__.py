"""What the blocks share: arithmetic trees, pipeline registers, limb products, the
credit queue at a pipeline's end, and Amaranth layouts of `spec.ports`."""
