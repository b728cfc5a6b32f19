"""The one graph traversal everything else uses."""


def topological_order(roots, leaves=()):
    """Every node that `roots` depend on, each once, inputs before the nodes that use them.

    Nodes in `leaves` (e.g. fed ones) are included but not looked behind.

    An explicit stack instead of recursion, so a chain of 100,000 ops is fine.
    Reversed, this is the order backpropagation needs: a node comes only
    after every node that consumes it, so its gradient is complete when read.
    """
    order, done = [], set()
    for root in roots:
        if root in done:
            continue
        stack = [(root, iter(() if root in leaves else root.inputs))]
        on_stack = {root}
        while stack:
            node, pending = stack[-1]
            for child in pending:
                if child not in done and child not in on_stack:
                    stack.append((child, iter(() if child in leaves else child.inputs)))
                    on_stack.add(child)
                    break
            else:  # all inputs placed: place the node itself
                stack.pop()
                on_stack.discard(node)
                done.add(node)
                order.append(node)
    return order
