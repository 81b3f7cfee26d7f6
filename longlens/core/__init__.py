"""What every layer shares, and nothing else; imports nothing of ours.

| name | home |
|---|---|
| error classes (LonglensError, InputError, VideoError..., ModelUnavailableError, CacheError) | core.errors |
| atomic writes, entries with an integrity manifest | core.io |
| Frame, Segment, Moment, clock (time formatting), iou | core.types |
| registries of names: channels, selectors, formats, answerers, engines, attention, kernels, decoders | core.registry |
| where files live (Paths) | core.paths |
| environment variables (read only at the edges) | core.env |
| progress bars | core.progress |
| model-hub reachability | core.hub |
"""
