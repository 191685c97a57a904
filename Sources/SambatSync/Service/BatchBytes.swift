extension Array {
    /// The longest prefix whose sizes add up to at most `byteLimit`, but never empty when the
    /// array is not: one op larger than the limit still travels, alone.
    ///
    /// How a sender cuts the ops it read into one BATCH (`max_batch_bytes`), at central for a
    /// feed and at a node for its upload.
    func prefix(withinBytes byteLimit: Int, size: (Element) -> Int) -> ArraySlice<Element> {
        var total = 0
        var end = startIndex
        while end < endIndex {
            let next = total + size(self[end])
            if end > startIndex, next > byteLimit { break }
            total = next
            end += 1
        }
        return self[startIndex..<end]
    }
}
