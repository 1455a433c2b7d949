"""The Step through view: one module per close-up (conv, pool, flatten, dense, softmax
and loss, the backward step, where the network looks), the chain strip, and the view
that holds them (view.py). `add_step_through` puts it into the main window."""
