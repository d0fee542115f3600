"""Bob's mistake in 02_creating: negative sampling that may draw the positive context word itself.

The visible test only checks the shape; the hidden test finds negatives equal to the positive (and SGNS still
trains, so no other test notices).
"""
CELL = "pairs"
LOSES = 2  # test_negatives
SOURCE = '''\
def skipgram_pairs(corpus_ids, window, rng):
    pairs = []
    for sentence in corpus_ids:
        n = len(sentence)
        for i in range(n):
            b = int(rng.integers(1, window + 1))
            for j in range(max(0, i - b), min(n, i + b + 1)):
                if j != i:
                    pairs.append((int(sentence[i]), int(sentence[j])))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def noise_distribution(counts, power=0.75):
    p = torch.as_tensor(np.asarray(counts, dtype=np.float64)) ** power
    return p / p.sum()


def sample_negatives(noise, positives, k, generator):
    noise = torch.as_tensor(noise, dtype=torch.float64).cpu()
    positives = torch.as_tensor(positives)
    out = torch.multinomial(noise, len(positives) * k, replacement=True, generator=generator).view(-1, k)
    return out.to(positives.device)
'''
