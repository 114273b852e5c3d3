"""The post-processing unit: per-column scaling, bias and ReLU, and the requantizers of
the array's results and of the softmax's exponentials."""
